from bits import is_power_of_two


def test_negative():
    assert not is_power_of_two(-4)


def test_large():
    assert is_power_of_two(1024) and not is_power_of_two(1023)
