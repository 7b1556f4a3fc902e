import pytest

from bank import Account


def test_deposit():
    assert Account("a").deposit(5) == 5


def test_withdraw():
    acct = Account("a", 10)
    assert acct.withdraw(4) == 6


def test_overdraw():
    with pytest.raises(ValueError):
        Account("a", 1).withdraw(5)
