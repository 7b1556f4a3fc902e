from calendar_utils import is_leap


def test_common():
    assert not is_leap(2023)


def test_ordinary_leap():
    assert is_leap(2024)


def test_century():
    assert not is_leap(1900)
