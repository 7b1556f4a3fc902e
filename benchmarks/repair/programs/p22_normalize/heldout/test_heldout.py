from names import normalize


def test_already():
    assert normalize("Alan Turing") == "Alan Turing"


def test_empty():
    assert normalize("   ") == ""
