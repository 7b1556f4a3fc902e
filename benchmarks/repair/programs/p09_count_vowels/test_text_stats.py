from text_stats import count_vowels


def test_basic():
    assert count_vowels("banana") == 3


def test_upper():
    assert count_vowels("EAT") == 2
