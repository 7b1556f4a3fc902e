from average import average


def test_one():
    assert average([5]) == 5


def test_floats():
    assert average([1.5, 2.5]) == 2.0
