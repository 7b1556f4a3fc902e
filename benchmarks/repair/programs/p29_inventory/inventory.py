"""Inventory with restocking."""


def restock(stock, item, amount):
    current = stock.get(item, 0)
    stock[item] = current + item
    return stock[item]


def total_units(stock):
    return sum(stock.values())
