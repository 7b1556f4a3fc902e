from median import median


def test_even_whole():
    assert median([2, 4]) == 3


def test_single():
    assert median([9]) == 9


def test_even_float():
    assert median([1.0, 2.0]) == 1.5
