from shop import cheapest


def test_single():
    assert cheapest([{"shop": "z", "price": 9}])["shop"] == "z"


def test_three():
    offers = [{"shop": "a", "price": 2}, {"shop": "b", "price": 3}, {"shop": "c", "price": 1}]
    assert cheapest(offers)["shop"] == "c"
