from grades import grade


def test_b():
    assert grade(80) == "B"


def test_c_below_b():
    assert grade(78) == "C"


def test_edge_c():
    assert grade(70) == "C"


def test_edge_f():
    assert grade(69) == "F"
