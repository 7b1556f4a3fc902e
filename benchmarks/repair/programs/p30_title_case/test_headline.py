from headline import headline


def test_basic():
    assert headline("the lord of the rings") == "The Lord of the Rings"


def test_single():
    assert headline("hello") == "Hello"
