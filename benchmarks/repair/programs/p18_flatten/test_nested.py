from nested import flatten


def test_two():
    assert flatten([[1, 2], [3]]) == [1, 2, 3]


def test_empty():
    assert flatten([]) == []
