"""Every comparison operator of the expression grammar, each against its neighbours.

The recipes use `==`, `<`, `>` ...; nothing else exercised `!=`, so an evaluator that read it
as `==` (or swapped `<` and `<=`) would pass every other test. Each operator here is checked on
values chosen so that it and every other operator give different answers.
"""

import numpy as np
import pandas as pd
import pytest

from toolkit.core import Expression

DF = pd.DataFrame({"a": [1.0, 2.0, 3.0, np.nan], "q": ["AAA", "AAB", "AAA", "ABC"]})


@pytest.mark.parametrize("text,expected", [
    ("a != 2", [True, False, True, True]),            # NaN != 2 is true, as in NumPy
    ("a == 2", [False, True, False, False]),
    ("a < 2", [True, False, False, False]),
    ("a <= 2", [True, True, False, False]),
    ("a > 2", [False, False, True, False]),
    ("a >= 2", [False, True, True, False]),
    ("q != 'AAA'", [False, True, False, True]),
    ("not (q != 'AAA')", [True, False, True, False]),
    ("1 <= a != 3", [True, True, False, False]),      # a chain: 1 <= a and a != 3
    ("a != a", [False, False, False, True]),          # only NaN differs from itself
])
def test_each_comparison_operator(text, expected):
    assert list(Expression(text).evaluate(DF)) == expected


def test_not_equal_is_the_complement_of_equal_on_finite_values():
    eq = Expression("q == 'AAA'").evaluate(DF)
    ne = Expression("q != 'AAA'").evaluate(DF)
    assert (eq ^ ne).all()


@pytest.mark.parametrize("text,expected", [
    ("-a < -1.5", [False, True, True, False]),         # unary minus on a column
    ("+a > 1.5", [False, True, True, False]),          # unary plus changes nothing
    ("a * -1 == -3", [False, False, True, False]),
    ("--a == a", [True, True, True, False]),
])
def test_unary_plus_and_minus(text, expected):
    assert list(Expression(text).evaluate(DF)) == expected


@pytest.mark.parametrize("text", [
    "a > 1 and a.real > 0",                 # every operand of and/or is checked, not only the first
    "a > 1 or __import__('os')",
    "a > 1 and (b > 2 or q.upper() == 'X')",
    "1 < a.real",                           # every side of a comparison is checked
    "a < 2 < __builtins__",
])
def test_unsafe_parts_inside_boolean_and_comparison_chains_are_rejected(text):
    from toolkit.core import RecipeError

    with pytest.raises(RecipeError, match="not allowed"):
        Expression(text)


def test_columns_come_from_every_operand():
    assert Expression("a > 1 and b > 2 or c").columns == ["a", "b", "c"]
    assert Expression("0 < a < b <= `B-V`").columns == ["a", "b", "B-V"]
