import pytest

from core_helpers import SIMPLE, make_registry, write_recipe
from toolkit.core import RecipeError
from toolkit.core.recipe import apply_override, builtin_recipes, find_recipe, load_recipe


@pytest.fixture(scope="module")
def registry():
    return make_registry()


def test_a_valid_recipe_builds_every_component(tmp_path, registry):
    r = load_recipe(write_recipe(tmp_path / "r.yaml", SIMPLE), registry)
    assert r.name == "simple" and r.seed == 5
    assert [s.name for s in r.steps["cuts"]] == ["finite"]
    assert r.steps["detectors"][0].component.config.features == ["a", "b"]
    assert r.resolved()["detectors"][0]["with"] == {"features": ["a", "b"], "cut": 5.0}


def test_missing_recipe_file_is_named(registry):
    with pytest.raises(RecipeError, match=r"recipe file 'nope.yaml' does not exist \(looked for /.*nope.yaml\)"):
        load_recipe("nope.yaml", registry)


def test_yaml_syntax_error_shows_the_line(tmp_path, registry):
    path = write_recipe(tmp_path / "bad.yaml", "name: x\nsource: {use: test.labelled\ncuts: []\n")
    with pytest.raises(RecipeError) as exc:
        load_recipe(path, registry)
    assert f"{path}:3:" in str(exc.value) and "YAML syntax error" in str(exc.value)


def test_unknown_component_suggests_nearest_names(tmp_path, registry):
    path = write_recipe(tmp_path / "r.yaml", SIMPLE.replace("test.distance", "test.distanse"))
    with pytest.raises(RecipeError) as exc:
        load_recipe(path, registry)
    msg = str(exc.value)
    assert f"{path}:9:" in msg and "unknown detector component 'test.distanse'" in msg
    assert "Did you mean 'test.distance'" in msg


def test_component_of_wrong_kind_is_explained(tmp_path, registry):
    path = write_recipe(tmp_path / "r.yaml", SIMPLE.replace("use: test.distance", "use: expr.cut"))
    with pytest.raises(RecipeError, match="'expr.cut' is a cut, not a detector"):
        load_recipe(path, registry)


def test_unknown_parameter_shows_line_and_nearest(tmp_path, registry):
    path = write_recipe(tmp_path / "r.yaml", SIMPLE.replace("features: [a, b]}", "features: [a, b], cutt: 3}"))
    with pytest.raises(RecipeError) as exc:
        load_recipe(path, registry)
    msg = str(exc.value)
    assert f"{path}:9:" in msg and "detectors.0.with.cutt: unknown parameter 'cutt'" in msg
    assert "did you mean 'cut'" in msg and "test.distance takes: features, cut" in msg


def test_mistyped_parameter_value_is_reported(tmp_path, registry):
    path = write_recipe(tmp_path / "r.yaml", SIMPLE.replace("with: {n: 400}", "with: {n: many}"))
    with pytest.raises(RecipeError) as exc:
        load_recipe(path, registry)
    assert f"{path}:3:" in str(exc.value) and "source.with.n" in str(exc.value) and "'many'" in str(exc.value)


def test_missing_required_parameter(tmp_path, registry):
    path = write_recipe(tmp_path / "r.yaml", SIMPLE.replace("with: {features: [a, b]}", "with: {}"))
    with pytest.raises(RecipeError, match="detectors.0.with.features: required parameter is missing"):
        load_recipe(path, registry)


def test_unknown_top_level_key(tmp_path, registry):
    path = write_recipe(tmp_path / "r.yaml", SIMPLE + "detector: []\n")
    with pytest.raises(RecipeError, match=r"r.yaml:\d+:1: detector: unknown parameter 'detector'"):
        load_recipe(path, registry)


def test_unsafe_cut_expression_is_rejected_before_any_work(tmp_path, registry):
    body = SIMPLE.replace('"isfinite(a) and isfinite(b)"', "\"__import__('os').system('x')\"")
    with pytest.raises(RecipeError) as exc:
        load_recipe(write_recipe(tmp_path / "r.yaml", body), registry)
    assert "cuts.0.with.expr" in str(exc.value) and "attribute access" in str(exc.value)


def test_duplicate_step_names_are_an_error(tmp_path, registry):
    body = SIMPLE + "  - {use: test.distance, name: dist, with: {features: [a]}}\n"
    with pytest.raises(RecipeError, match="two detectors steps are both named 'dist'"):
        load_recipe(write_recipe(tmp_path / "r.yaml", body), registry)


def test_overrides_replace_values_and_whole_steps(tmp_path, registry):
    path = write_recipe(tmp_path / "r.yaml", SIMPLE)
    r = load_recipe(path, registry, ["detectors.0.with.cut=2.5", "source.with.n=50",
                                     "cuts.0={use: expr.cut, name: pos, with: {expr: 'a > 0'}}"], seed=9)
    assert r.steps["detectors"][0].component.config.cut == 2.5
    assert r.source.component.config.n == 50
    assert r.steps["cuts"][0].name == "pos" and r.seed == 9
    assert r.overrides[-1] == "seed=9"


def test_bad_override_points_at_the_set_option(tmp_path, registry):
    path = write_recipe(tmp_path / "r.yaml", SIMPLE)
    with pytest.raises(RecipeError, match=r"value from --set detectors.0.with.cut"):
        load_recipe(path, registry, ["detectors.0.with.cut=lots"])
    with pytest.raises(RecipeError, match="out of range"):
        apply_override({"cuts": []}, "cuts.3.with.expr=a")
    with pytest.raises(RecipeError, match="expected KEY=VALUE"):
        apply_override({}, "seed")


def test_builtin_recipes_resolve_by_name():
    known = builtin_recipes()
    assert "gaia_kinematic" in known
    assert find_recipe("gaia_kinematic") == known["gaia_kinematic"]
    assert find_recipe("recipes/gaia_kinematic.yaml").name == "gaia_kinematic.yaml"
