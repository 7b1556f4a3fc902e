from clamp import clamp


def test_at_high():
    assert clamp(10, 0, 10) == 10


def test_just_below_high():
    assert clamp(9, 0, 10) == 9


def test_floats():
    assert clamp(2.5, 0.0, 2.0) == 2.0
