from window import window_sums


def test_ones():
    assert window_sums([4, 5], 1) == [4, 5]


def test_too_big():
    assert window_sums([1], 2) == []
