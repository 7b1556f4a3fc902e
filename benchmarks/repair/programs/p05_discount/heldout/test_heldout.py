from pricing import discounted


def test_full():
    assert discounted(30, 100) == 0


def test_quarter():
    assert discounted(200, 25) == 150
