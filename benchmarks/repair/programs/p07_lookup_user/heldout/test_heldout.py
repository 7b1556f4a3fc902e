from users import display_name


def test_other_known():
    assert display_name("u2") == "GRACE"


def test_custom_table():
    assert display_name("a", {"a": {"name": "x"}}) == "X"
    assert display_name("b", {"a": {"name": "x"}}) is None
