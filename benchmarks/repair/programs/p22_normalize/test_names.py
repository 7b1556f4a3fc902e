from names import normalize


def test_spaces():
    assert normalize("  ada   lovelace ") == "Ada Lovelace"


def test_single():
    assert normalize("grace") == "Grace"
