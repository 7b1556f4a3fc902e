from parse import first_word


def test_empty():
    assert first_word("") == ""


def test_leading_space():
    assert first_word("  x y") == "x"
