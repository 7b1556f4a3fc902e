from bits import is_power_of_two


def test_powers():
    assert is_power_of_two(1) and is_power_of_two(8)


def test_zero():
    assert not is_power_of_two(0)


def test_not_power():
    assert not is_power_of_two(6)
