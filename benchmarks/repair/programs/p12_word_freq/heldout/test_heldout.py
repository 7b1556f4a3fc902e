from words import word_freq


def test_empty():
    assert word_freq("") == {}


def test_single():
    assert word_freq("x") == {"x": 1}
