from inventory import restock


def test_restock_existing():
    stock = {"screws": 4}
    assert restock(stock, "screws", 6) == 10
    assert stock == {"screws": 10}
