from ratio import ratio


def test_third():
    assert ratio(1, 3) == 0.333


def test_zero_part():
    assert ratio(0, 5) == 0
