from calendar_utils import is_leap


def test_400():
    assert is_leap(2000)


def test_other_leaps():
    assert is_leap(1996) and is_leap(2400)


def test_other_centuries():
    assert not is_leap(2100) and not is_leap(1800)
