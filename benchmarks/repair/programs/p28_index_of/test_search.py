from search import index_of


def test_found():
    assert index_of([5, 6, 7], 7) == 2


def test_missing():
    assert index_of([5, 6], 9) == -1
