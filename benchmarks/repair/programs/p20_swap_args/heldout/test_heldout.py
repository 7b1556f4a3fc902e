from geometry import describe


def test_wide():
    assert describe(10, 4) == "10x4 ratio 2.50 area 40"


def test_tall():
    assert describe(2, 8) == "2x8 ratio 0.25 area 16"
