from settings import merged


def test_extra_key():
    assert merged({"lang": "fr"})["lang"] == "fr"


def test_defaults_untouched():
    merged({"size": 20})
    assert merged({}) == {"theme": "light", "size": 12}
