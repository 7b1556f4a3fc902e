from history import last_n


def test_more_than_len():
    assert last_n([1, 2], 5) == [1, 2]


def test_one():
    assert last_n(["a", "b", "c"], 1) == ["c"]


def test_all():
    assert last_n([1, 2, 3], 3) == [1, 2, 3]
