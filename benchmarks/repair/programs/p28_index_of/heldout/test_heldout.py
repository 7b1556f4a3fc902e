from search import index_of


def test_first():
    assert index_of([1, 1], 1) == 0


def test_empty():
    assert index_of([], 3) == -1
