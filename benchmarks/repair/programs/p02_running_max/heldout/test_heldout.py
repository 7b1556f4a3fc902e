from stats import running_max


def test_single():
    assert running_max([7]) == [7]


def test_decreasing():
    assert running_max([5, 4, 3]) == [5, 5, 5]


def test_negative():
    assert running_max([-5, -2, -9]) == [-5, -2, -2]
