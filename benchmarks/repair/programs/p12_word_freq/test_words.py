from words import word_freq


def test_simple():
    assert word_freq("a b a") == {"a": 2, "b": 1}


def test_case():
    assert word_freq("Hi hi") == {"hi": 2}
