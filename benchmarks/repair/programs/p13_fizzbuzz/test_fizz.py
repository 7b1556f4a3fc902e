from fizz import fizzbuzz


def test_plain():
    assert fizzbuzz(7) == "7"


def test_fizz():
    assert fizzbuzz(9) == "Fizz"


def test_fizzbuzz():
    assert fizzbuzz(30) == "FizzBuzz"
