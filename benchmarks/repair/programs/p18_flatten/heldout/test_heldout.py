from nested import flatten


def test_empty_inner():
    assert flatten([[], [1], []]) == [1]


def test_strings():
    assert flatten([["a"], ["b", "c"]]) == ["a", "b", "c"]
