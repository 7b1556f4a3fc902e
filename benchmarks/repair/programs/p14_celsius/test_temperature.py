from temperature import to_celsius


def test_freezing():
    assert to_celsius(32) == 0


def test_boiling():
    assert to_celsius(212) == 100
