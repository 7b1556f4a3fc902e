from geometry import aspect, describe


def test_aspect():
    assert aspect(4, 2) == 2


def test_describe():
    assert describe(4, 2) == "4x2 ratio 2.00 area 8"


def test_square():
    assert describe(3, 3) == "3x3 ratio 1.00 area 9"
