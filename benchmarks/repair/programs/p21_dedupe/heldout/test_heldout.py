from dedupe import dedupe


def test_no_dupes():
    assert dedupe(["a", "b"]) == ["a", "b"]


def test_all_same():
    assert dedupe([4, 4, 4]) == [4]
