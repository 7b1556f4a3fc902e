import pytest

from forms import parse_age


def test_ok():
    assert parse_age(" 42 ") == 42


def test_not_number():
    with pytest.raises(ValueError):
        parse_age("abc")
