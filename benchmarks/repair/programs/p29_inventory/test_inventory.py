from inventory import restock, total_units


def test_restock_new():
    stock = {}
    assert restock(stock, "nails", 10) == 10


def test_total():
    assert total_units({"a": 2, "b": 3}) == 5
