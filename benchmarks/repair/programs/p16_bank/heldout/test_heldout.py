from bank import Account


def test_withdraw_all():
    acct = Account("b", 7)
    assert acct.withdraw(7) == 0


def test_sequence():
    acct = Account("c")
    acct.deposit(10)
    acct.withdraw(3)
    assert acct.balance == 7
