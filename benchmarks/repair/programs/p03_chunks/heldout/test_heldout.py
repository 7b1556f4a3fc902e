from chunking import chunks


def test_single_items():
    assert chunks([1, 2, 3], 1) == [[1], [2], [3]]


def test_empty():
    assert chunks([], 3) == []


def test_large_size():
    assert chunks([1, 2], 5) == [[1, 2]]
