from ranges import between


def test_inside():
    assert between(5, 1, 10)


def test_upper_edge():
    assert between(10, 1, 10)


def test_outside():
    assert not between(11, 1, 10)
