from text_stats import count_vowels


def test_none():
    assert count_vowels("xyz") == 0


def test_empty():
    assert count_vowels("") == 0


def test_all_vowels():
    assert count_vowels("Aeiou") == 5
