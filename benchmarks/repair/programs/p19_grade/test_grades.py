from grades import grade


def test_a():
    assert grade(95) == "A"


def test_c():
    assert grade(79) == "C"


def test_f():
    assert grade(65) == "F"
