"""Property-based tests (hypothesis) for what users type: recipes, --set, expressions, table files.

Each property is one promise the README makes about any input, not only the examples we thought of:
bad input gives a ToolkitError with a message (exit 2 on the command line), never another exception,
a hang or a wrong answer. The suite is sized to run in well under a minute on two cores.
"""

from __future__ import annotations

import ast
import warnings

import numpy as np
import pandas as pd
import pytest
import yaml
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from core_helpers import SIMPLE, make_registry, write_recipe
from toolkit.core import Expression, RecipeError, StageError, Table
from toolkit.core.recipe import load_recipe

FAST = settings(max_examples=80, deadline=None, suppress_health_check=list(HealthCheck))
REGISTRY = make_registry()


# -- the recipe parser ------------------------------------------------------------------------

@FAST
@given(st.binary(max_size=400))
@example(b"name: x\x00")
@example(b"\xef\xbb\xbfname: x\nsource: {use: test.labelled}\n")   # a BOM is fine
@example(b"a: &a [*a]")
def test_any_bytes_as_a_recipe_give_a_recipe_error_or_a_recipe(tmp_path_factory, data):
    path = tmp_path_factory.mktemp("r") / "r.yaml"
    path.write_bytes(data)
    try:
        load_recipe(path, REGISTRY)
    except RecipeError as exc:
        assert str(exc).startswith(str(path))   # every message names the file


yaml_scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=12))
yaml_values = st.recursive(yaml_scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)), max_leaves=20)


@FAST
@given(st.dictionaries(st.sampled_from(["name", "seed", "source", "cuts", "features", "detectors", "validators",
                                        "output", "description", "extra"]), yaml_values, max_size=6))
def test_any_yaml_mapping_gives_a_recipe_error_or_a_recipe(tmp_path_factory, doc):
    path = tmp_path_factory.mktemp("r") / "r.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True))
    try:
        recipe = load_recipe(path, REGISTRY)
    except RecipeError:
        return
    assert recipe.name == doc["name"]


@FAST
@given(st.integers(min_value=1, max_value=12), st.integers(min_value=2, max_value=12))
def test_nested_aliases_are_bounded_by_their_expanded_size(tmp_path_factory, levels, fan):
    lines = ["l0: &l0 [1]"] + [f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * fan) + "]" for i in range(1, levels)]
    path = tmp_path_factory.mktemp("r") / "r.yaml"
    path.write_text("\n".join(lines) + "\nname: x\nsource: {use: test.labelled}\n")
    sizes = [2]                          # node counts as the loader counts them: [1] is a list and a scalar
    for _ in range(1, levels):
        sizes.append(1 + fan * sizes[-1])
    document = 1 + sum(1 + size for size in sizes) + 2 + 4   # root, keys and values, name, source
    with pytest.raises(RecipeError) as err:   # the l* keys are not recipe keys: an error either way
        load_recipe(path, REGISTRY)
    assert ("expands to more than 100,000 values" in str(err.value)) == (document > 100_000)


# -- --set ----------------------------------------------------------------------------------------

key_parts = st.one_of(st.sampled_from(["name", "seed", "source", "with", "use", "n", "cuts", "detectors", "0",
                                       "1", "-1", "99", "features", "expr", ""]), st.text(max_size=5))


@FAST
@given(st.lists(key_parts, min_size=1, max_size=5), st.one_of(st.text(max_size=20), st.sampled_from(
    ["1", "[1, 2]", "{a: 1}", "null", ".nan", "1e400", "&a [*a]", "{use: test.labelled}", "'x"])))
def test_any_override_gives_a_recipe_error_or_a_recipe(tmp_path_factory, parts, value):
    path = write_recipe(tmp_path_factory.mktemp("r") / "r.yaml", SIMPLE)
    try:
        load_recipe(path, REGISTRY, [".".join(parts) + "=" + value])
    except RecipeError:
        pass


@FAST
@given(st.integers(min_value=0, max_value=2**31 - 1), st.integers(min_value=1, max_value=5000))
def test_overrides_that_are_valid_take_effect(tmp_path_factory, seed, n):
    path = write_recipe(tmp_path_factory.mktemp("r") / "r.yaml", SIMPLE)
    recipe = load_recipe(path, REGISTRY, [f"seed={seed}", f"source.with.n={n}"])
    assert recipe.seed == seed and recipe.source.component.config.n == n


# -- the expression grammar ---------------------------------------------------------------------

COLUMNS = {"a": np.array([1.0, -2.5, 0.0, np.nan, 4.0, 1e300]),
           "b": np.array([3.0, 0.5, -1.0, 2.0, np.inf, -1e-300]),
           "n": np.array([1, 2, 3, 4, 5, 6])}
FRAME = pd.DataFrame(COLUMNS)

atoms = st.one_of(st.sampled_from(["a", "b", "n", "`a`"]), st.integers(-10**20, 10**20).map(str),
                  st.floats(allow_nan=False, allow_infinity=False).map(repr), st.just("'AAA'"))


def _combine(inner):
    binary = st.tuples(inner, st.sampled_from(["+", "-", "*", "/", "**", "<", "<=", ">", "==", "!=", "and", "or",
                                               "&", "|"]), inner).map(lambda t: f"({t[0]} {t[1]} {t[2]})")
    unary = st.tuples(st.sampled_from(["-", "not ", "~", "+"]), inner).map(lambda t: f"{t[0]}({t[1]})")
    call = st.tuples(st.sampled_from(["abs", "log10", "sqrt", "exp", "isnan", "hypot", "min", "max", "log"]),
                     st.lists(inner, min_size=0, max_size=3)).map(lambda t: f"{t[0]}({', '.join(t[1])})")
    return st.one_of(binary, unary, call)


expressions = st.recursive(atoms, _combine, max_leaves=12)


@FAST
@given(expressions)
@example("9 ** 9 ** 9")
@example("(-8) ** 0.5")
@example("2 ** -1")
def test_grammar_expressions_check_then_evaluate_without_surprises(text):
    try:
        expr = Expression(text)
    except RecipeError:
        return
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        try:
            value = expr.evaluate(FRAME)
        except TypeError:
            # a string column compared with a number is only known when the data is: the runner
            # turns it into a StageError naming the step (never a traceback)
            assume(False)
    value = np.broadcast_to(np.asarray(value), (len(FRAME),)) if np.ndim(value) == 0 else np.asarray(value)
    assert value.shape == (len(FRAME),)


@FAST
@given(expressions, st.integers(min_value=1, max_value=5))
def test_expressions_are_chunk_pure(text, split):
    try:
        expr = Expression(text)
    except RecipeError:
        return
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        try:
            whole = np.broadcast_to(np.asarray(expr.evaluate(FRAME)), (len(FRAME),))
            parts = [np.broadcast_to(np.asarray(expr.evaluate(FRAME.iloc[:split])), (split,)),
                     np.broadcast_to(np.asarray(expr.evaluate(FRAME.iloc[split:])), (len(FRAME) - split,))]
        except TypeError:
            return
    joined = np.concatenate(parts)
    assert joined.dtype.kind == whole.dtype.kind or {joined.dtype.kind, whole.dtype.kind} <= set("fiub")
    assert np.array_equal(joined.astype(whole.dtype), whole, equal_nan=whole.dtype.kind == "f")


@FAST
@given(st.text(max_size=60))
@example("__import__('os').system('echo owned')")
@example("().__class__.__bases__[0].__subclasses__()")
@example("a" * 20_000)
@example("(" * 200 + "a" + ")" * 200)
def test_any_text_is_either_a_checked_expression_or_a_recipe_error(text):
    try:
        expr = Expression(text)
    except RecipeError:
        return
    tree = ast.parse(expr.tree and ast.unparse(expr.tree), mode="eval")
    names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    assert not any(n.startswith("__") and not n.startswith("__col") for n in names)
    assert not any(isinstance(n, (ast.Attribute, ast.Subscript, ast.Lambda)) for n in ast.walk(tree))


@FAST
@given(st.floats(allow_nan=False, allow_infinity=False, min_value=-1e6, max_value=1e6),
       st.floats(allow_nan=False, allow_infinity=False, min_value=-1e6, max_value=1e6))
def test_arithmetic_agrees_with_numpy(x, y):
    frame = pd.DataFrame({"a": [x], "b": [y]})
    with np.errstate(all="ignore"):
        assert Expression("a + b * 2 - a / 4").evaluate(frame)[0] == pytest.approx(x + y * 2 - x / 4, nan_ok=True)
        assert bool(Expression("0 < a <= b").evaluate(frame)[0]) == (0 < x <= y)
        assert Expression("min(a, b, 0)").evaluate(frame)[0] == min(x, y, 0)


# -- the table readers --------------------------------------------------------------------------

names = st.text(alphabet=st.characters(min_codepoint=48, max_codepoint=122, whitelist_categories=("Ll", "Lu", "Nd")),
                min_size=1, max_size=8).filter(lambda s: s[0].isalpha())


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(names, min_size=1, max_size=4, unique_by=str.lower),
       st.lists(st.floats(allow_infinity=False, min_value=-1e300, max_value=1e300), min_size=1, max_size=6),
       st.sampled_from(["parquet", "fits", "votable", "ecsv", "csv"]))
def test_tables_written_with_units_read_back_the_same(tmp_path_factory, cols, values, fmt):
    from toolkit.core.io import read_table
    from toolkit.core.runfolder import CANDIDATE_FORMATS, write_table

    data = {c: np.array(values, dtype=float) * (i + 1) for i, c in enumerate(cols)}
    table = Table(pd.DataFrame(data))
    for c in cols:
        table.info[c].unit = "mas"
    suffix = {"parquet": ".parquet", "fits": ".fits", "votable": ".vot", "ecsv": ".ecsv", "csv": ".csv"}[fmt]
    path = tmp_path_factory.mktemp("t") / f"t{suffix}"
    write_table(table, path, CANDIDATE_FORMATS.get(fmt, (None, fmt))[1])
    back = read_table(path)
    for c in cols:
        assert np.array_equal(np.asarray(back[c], dtype=float), data[c], equal_nan=True)
        if fmt != "csv":   # plain CSV carries no units (they are in manifest.json)
            assert str(back[c].unit) == "mas"


@FAST
@given(st.binary(max_size=300), st.sampled_from([".csv", ".fits", ".vot", ".ecsv", ".parquet", ".dat", ".txt"]))
@example(b"SIMPLE  =                    T" + b" " * 50, ".fits")
@example(b"<?xml version='1.0'?><VOTABLE>", ".vot")
def test_garbage_table_files_give_a_stage_error_naming_the_file(tmp_path_factory, data, suffix):
    from toolkit.core.io import read_table

    path = tmp_path_factory.mktemp("t") / f"garbage{suffix}"
    path.write_bytes(data)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            read_table(path)
        except StageError as exc:
            assert str(path) in str(exc)
