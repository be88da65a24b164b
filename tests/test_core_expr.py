import numpy as np
import pandas as pd
import pytest

from toolkit.core import Expression, RecipeError

DF = pd.DataFrame({"a": [1.0, 2.0, np.nan, 4.0], "b": [0.5, 3.0, 1.0, -1.0], "B-V": [0.1, 0.9, 0.5, 1.2],
                   "q": ["AAA", "AAB", "AAA", "ABC"]})


@pytest.mark.parametrize("text,expected", [
    ("a > 1", [False, True, False, True]),
    ("a > 1 and b > 0", [False, True, False, False]),
    ("not (a > 1) or b < 0", [True, False, True, True]),
    ("isnan(a)", [False, False, True, False]),
    ("0 < b <= 1", [True, False, True, False]),
    ("abs(b) ** 2 >= 1", [False, True, True, True]),
    ("log10(a * 10) > 1.2", [False, True, False, True]),
    ("`B-V` > 0.5", [False, True, False, True]),
    ("q == 'AAA'", [True, False, True, False]),
    ("(a > 1) & ~(b < 0)", [False, True, False, False]),
])
def test_expressions_evaluate_elementwise(text, expected):
    assert list(Expression(text).evaluate(DF)) == expected


def test_columns_are_listed():
    assert Expression("sqrt(a) + b - `B-V` > 0").columns == ["a", "b", "B-V"]


@pytest.mark.parametrize("text,reason", [
    ("__import__('os').system('x')", "attribute access"),
    ("__import__('os')", "function '__import__'"),
    ("open('/etc/passwd')", "function 'open'"),
    ("a.real > 1", "attribute access"),
    ("a[0] > 1", "Subscript"),
    ("(lambda: 1)()", "calling anything"),
    ("[x for x in a]", "ListComp"),
    ("__builtins__", "not a column"),
    ("log10(a, base=2)", "keyword"),
    ("a if b else 1", "IfExp"),
])
def test_unsafe_expressions_are_rejected(text, reason):
    with pytest.raises(RecipeError) as exc:
        Expression(text)
    assert reason in str(exc.value)
    assert "Allowed:" in str(exc.value)


def test_syntax_error_is_a_recipe_error():
    with pytest.raises(RecipeError, match="cannot parse expression"):
        Expression("a > > 1")
