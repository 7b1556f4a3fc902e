from ranges import between


def test_lower_edge():
    assert between(1, 1, 10)


def test_below():
    assert not between(0, 1, 10)
