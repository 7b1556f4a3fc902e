from shop import cheapest


def test_empty():
    assert cheapest([]) is None


def test_pick():
    offers = [{"shop": "a", "price": 5}, {"shop": "b", "price": 3}]
    assert cheapest(offers)["shop"] == "b"
