from settings import merged


def test_override():
    assert merged({"theme": "dark"}) == {"theme": "dark", "size": 12}


def test_empty():
    assert merged({}) == {"theme": "light", "size": 12}
