from ratio import ratio


def test_normal():
    assert ratio(1, 4) == 0.25


def test_zero():
    assert ratio(5, 0) == 0
