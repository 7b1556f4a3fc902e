from countdown import countdown


def test_one():
    assert countdown(1) == [1]


def test_negative():
    assert countdown(-2) == []
