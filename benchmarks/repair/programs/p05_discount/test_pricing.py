import pytest

from pricing import discounted


def test_no_discount():
    assert discounted(50, 0) == 50


def test_half():
    assert discounted(80, 50) == 40


def test_range():
    with pytest.raises(ValueError):
        discounted(10, 150)
