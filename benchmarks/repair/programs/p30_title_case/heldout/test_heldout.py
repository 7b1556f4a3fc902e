from headline import headline


def test_small_first():
    assert headline("a tale of two cities") == "A Tale of Two Cities"


def test_upper_input():
    assert headline("WAR AND PEACE") == "War and Peace"
