import pytest

from forms import parse_age


def test_too_old():
    with pytest.raises(ValueError):
        parse_age("200")


def test_zero():
    assert parse_age("0") == 0
