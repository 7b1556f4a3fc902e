from temperature import to_celsius


def test_minus_forty():
    assert to_celsius(-40) == -40


def test_body():
    assert round(to_celsius(98.6), 1) == 37.0
