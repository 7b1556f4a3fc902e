from fizz import fizzbuzz


def test_buzz():
    assert fizzbuzz(10) == "Buzz"


def test_fifteen():
    assert fizzbuzz(15) == "FizzBuzz"


def test_three():
    assert fizzbuzz(3) == "Fizz"
