from users import display_name


def test_known():
    assert display_name("u1") == "ADA"


def test_unknown():
    assert display_name("zz") is None
