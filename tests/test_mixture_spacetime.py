"""Epicyclic map, space-time component fit (age recovery), mixture.spacetime detector."""

import numpy as np
import pytest
from scipy.linalg import expm

from toolkit.core import RecipeError, RunContext
from toolkit.plugins.mixture.cartesian_feature import GaiaCartesian
from toolkit.plugins.mixture.covariance_columns import unpack
from toolkit.plugins.mixture.epicyclic import EpicyclicTracer, expm_small
from toolkit.plugins.mixture.spacetime_component import fit_sphere_spacetime
from toolkit.plugins.mixture.spacetime_detector import SpaceTimeDetector
from toolkit.plugins.mixture.synth_association import SyntheticAssociation

NAMES = ["X", "Y", "Z", "U", "V", "W"]


def test_expm_small_matches_scipy_and_preserves_volume():
    tr = EpicyclicTracer()
    for age in (0.0, 3.0, 30.0, 250.0):
        A = tr.generator() * age
        assert np.allclose(expm_small(A), expm(A), rtol=1e-10, atol=1e-10)
        assert np.isclose(np.linalg.det(tr.matrix(age)), 1.0, atol=1e-9)


def test_circular_orbit_is_stationary_and_vertical_oscillation_has_period():
    # Hill's equations themselves: velocities taken as co-rotating (no frame conversion)
    tr = EpicyclicTracer(solar_motion=(0, 0, 0), measured_frame="corotating")
    # a guiding-centre orbit at X: V = 2 A X in the co-rotating frame -> X stays, Y drifts at 2AX
    X0 = 100.0
    s = np.array([X0, 0, 0, 0, 2 * tr.oort_a * X0 / 1000, 0])
    out = tr.forward(s, 50.0)
    assert np.isclose(out[0], X0, atol=1e-6) and np.isclose(out[3], 0, atol=1e-9)
    # vertical: period 2 pi / nu
    nu_per_myr = tr.nu * 1.0227121650537077e-3
    z = tr.forward(np.array([0, 0, 50.0, 0, 0, 0]), 2 * np.pi / nu_per_myr)
    assert np.isclose(z[2], 50.0, atol=1e-6)


def test_forward_backward_round_trip():
    tr = EpicyclicTracer()
    rng = np.random.default_rng(0)
    s = rng.normal(0, 30, (10, 6))
    assert np.allclose(tr.backward(tr.forward(s, 37.0), 37.0), s)


@pytest.fixture(scope="module")
def small_association():
    ctx = RunContext(seed=11, show_progress=False)
    src = SyntheticAssociation(associations=[{"name": "grp", "n_stars": 120, "mean_now": [20, -10, 5, -10, -15, -8],
                                              "position_dispersion": 15.0, "velocity_dispersion": 1.0, "age": 20.0}],
                               background={"n_stars": 250, "position_dispersion": 80.0, "velocity_dispersion": 20.0},
                               error_scale=0.3)
    tab = src.load(ctx)
    return tab.with_columns(GaiaCartesian().compute(tab, ctx))


def test_age_recovered_from_true_members(small_association):
    tab = small_association
    X = np.column_stack([tab.array(n) for n in NAMES])
    S = unpack(tab, NAMES)
    w = (tab.data["truth_population"] == "grp").to_numpy(float)
    comp, prof = fit_sphere_spacetime(X, S, w, EpicyclicTracer(), np.arange(0, 60.1, 2.0))
    assert abs(comp.age - 20.0) < 3.0
    assert abs(comp.sigma_position - 15.0) < 3.0 and abs(comp.sigma_velocity - 1.0) < 0.25
    lo, hi = prof["age_interval"]
    assert lo <= comp.age <= hi
    assert len(prof["log_likelihood"]) == 31


def test_spacetime_detector_memberships_and_age(small_association, ctx):
    tab = small_association
    ctx.step = "detectors.st"
    truth = (tab.data["truth_population"] == "grp").to_numpy()
    tab.data["p_g"] = np.where(truth, 0.8, 0.2)        # rough initial memberships
    tab.data["p_bg"] = 1 - tab.data["p_g"]
    out = SpaceTimeDetector(init="memberships", init_memberships=["p_bg", "p_g"], age_max=60, age_step=2).detect(tab, ctx)
    assert abs(out.summary["ages_myr"]["group 1"] - 20.0) < 3.0
    assert (out.flag == truth).mean() > 0.97
    assert {"st_p_comp1", "st_p_background", "st_member_of"} <= set(out.columns.names())
    assert any(f["file"].endswith("age_fit.png") for f in ctx.figures)
    folder = ctx.workdir / "models" / "st"
    assert (folder / "model.json").exists() and (folder / "mixture.npz").exists()
    from toolkit.core.models import load_model
    fitted, _ = load_model(folder)
    np.testing.assert_array_equal(fitted.score(tab), out.score)
    np.testing.assert_array_equal(fitted.flag(tab), out.flag)


def test_spacetime_needs_cartesian_features(small_association, ctx):
    with pytest.raises(RecipeError, match="XYZUVW|features must be"):
        SpaceTimeDetector(features=["X", "Y"]).detect(small_association, ctx)
    with pytest.raises(RecipeError, match="age_max"):
        SpaceTimeDetector(age_min=50, age_max=10).detect(small_association, ctx)


def test_circular_orbit_in_the_measured_non_rotating_frame():
    """Measured (non-rotating) velocities: a circular orbit at X has V = (A + B) X and U = Omega0 Y.

    In the co-rotating frame it has V' = 2 A X (stationary); converting V' = V + Omega0 X gives
    V = (2A - (A - B)) X = (A + B) X: Oort's local velocity field (Binney & Tremaine eq. 3.80).
    """
    tr = EpicyclicTracer(solar_motion=(0, 0, 0))
    X0 = 100.0
    s = np.array([X0, 0, 0, 0, (tr.oort_a + tr.oort_b) * X0 / 1000, 0])
    out = tr.forward(s, 50.0)
    assert np.isclose(out[0], X0, atol=1e-6)
    # ... while the pre-issue-18 map (measured U, V taken as co-rotating) lets it oscillate by tens of pc
    wrong = EpicyclicTracer(solar_motion=(0, 0, 0), measured_frame="corotating").forward(s, 50.0)
    assert abs(wrong[0] - X0) > 20


def test_tracer_matches_gala_in_the_named_potential():
    """Independent check: orbits integrated with gala in MilkyWayPotential2022 against the tracer."""
    pytest.importorskip("gala")
    from toolkit.plugins.mixture.galactic_constants import local_constants, named_potential
    from toolkit.plugins.mixture.gala_association import trace_with_gala
    from toolkit.plugins.mixture.synth_association import EpicyclicSpec

    pot = named_potential("MilkyWayPotential2022")
    c = local_constants(pot)
    # the potential's own Oort constants and vertical frequency (Bovy 2017 measures 15.3, -11.9)
    assert 13 < c["oort_a"] < 17 and -15 < c["oort_b"] < -11 and 220 < c["v_circ"] < 240
    rng = np.random.default_rng(0)
    birth = np.array([-300.0, 50, 0, 10, -5, 3]) + np.array([50.0] * 3 + [1.5] * 3) * rng.standard_normal((100, 6))
    truth = trace_with_gala(birth, 30.0, pot, 8.122, c["v_circ"])
    rms = {}
    for frame, vertical in (("lsr", "potential"), ("lsr", "harmonic"), ("corotating", "potential")):
        tr = EpicyclicSpec(potential="MilkyWayPotential2022", measured_frame=frame, vertical=vertical).tracer()
        rms[frame, vertical] = np.sqrt(((tr.forward(birth, 30.0) - truth) ** 2).mean(axis=0))
    good = rms["lsr", "potential"]
    assert (good[:3] < 5).all() and (good[3:] < 0.3).all(), good
    # without the frame conversion the in-plane velocities are off by ~Omega0 x 50 pc
    assert rms["corotating", "potential"][3:5].min() > 1.0
    # a harmonic vertical oscillation misses the disc's anharmonic force by several pc
    assert rms["lsr", "harmonic"][2] > 5 * good[2]
    # round trip through the per-star vertical trace
    tr = EpicyclicSpec(potential="MilkyWayPotential2022").tracer()
    assert np.allclose(tr.backward(tr.forward(birth, 30.0), 30.0), birth, atol=1e-3)


def test_age_of_a_gala_integrated_association():
    """Members integrated with gala (not the fit's map): the fitted age is the true one within 1 Myr."""
    pytest.importorskip("gala")
    from toolkit.plugins.mixture.galactic_constants import local_constants, named_potential
    from toolkit.plugins.mixture.gala_association import trace_with_gala
    from toolkit.plugins.mixture.synth_association import EpicyclicSpec

    pot = named_potential("MilkyWayPotential2022")
    vc = local_constants(pot)["v_circ"]
    tr = EpicyclicSpec(potential="MilkyWayPotential2022").tracer()
    rng = np.random.default_rng(1)
    birth = tr.backward(np.ones(6), 30.0) + np.array([50.0] * 3 + [1.5] * 3) * rng.standard_normal((200, 6))
    now = trace_with_gala(birth, 30.0, pot, 8.122, vc)
    S = np.tile(np.diag([0.25] * 3 + [0.01] * 3), (200, 1, 1))
    comp, _ = fit_sphere_spacetime(now, S, np.ones(200), tr, np.arange(0, 60.1, 1.0))
    assert abs(comp.age - 30.0) < 1.0, comp.age
    old = EpicyclicSpec(potential="MilkyWayPotential2022", measured_frame="corotating", vertical="harmonic").tracer()
    comp_old, _ = fit_sphere_spacetime(now, S, np.ones(200), old, np.arange(0, 60.1, 1.0))
    assert abs(comp_old.age - 30.0) > 3.0, comp_old.age
    # the frame alone is not enough: a harmonic vertical oscillation leaves the age low too
    harmonic = EpicyclicSpec(potential="MilkyWayPotential2022", vertical="harmonic").tracer()
    comp_h, _ = fit_sphere_spacetime(now, S, np.ones(200), harmonic, np.arange(0, 60.1, 1.0))
    assert comp_h.age < 28.0, comp_h.age


@pytest.fixture(scope="module")
def two_associations():
    """A young and an older association in a 100 pc field, 20% of RVs missing."""
    ctx = RunContext(seed=5, show_progress=False)
    src = SyntheticAssociation(
        associations=[{"name": "young", "n_stars": 50, "mean_now": [10, -30, 10, -11, -18, -6],
                       "position_dispersion": 5.0, "velocity_dispersion": 0.8, "age": 8.0},
                      {"name": "older", "n_stars": 60, "mean_now": [30, 20, -15, -10, -15, -9],
                       "position_dispersion": 8.0, "velocity_dispersion": 0.8, "age": 30.0}],
        background={"n_stars": 1500, "mean": [0, 0, 0, -10, -20, -7], "position_dispersion": 60.0,
                    "velocity_dispersion": 25.0, "max_distance": 100.0},
        error_scale=0.5, missing_rv_fraction=0.2)
    tab = src.load(ctx)
    return tab.with_columns(GaiaCartesian().compute(tab, ctx))


REGION = ("X > -60 and X < 110 and Y > -60 and Y < 50 and Z > -30 and Z < 60 and U > -25 and U < 5 "
          "and V > -30 and V < -5 and W > -20 and W < 5 and not rv_imputed")


@pytest.mark.slow
def test_growth_finds_both_groups_in_a_region_against_the_field(two_associations):
    tab = two_associations
    ctx = RunContext(seed=5, show_progress=False)
    out = SpaceTimeDetector(init="growth", max_groups=3, region=REGION, background="kde",
                            age_max=60, age_step=2).detect(tab, ctx)
    s = out.summary
    assert len(s["groups"]) == 2, s["growth_path"]
    truth = tab.data["truth_population"].to_numpy()
    in_region = out.columns.data["st_member_of"] >= 0
    assert not in_region[tab.data["rv_imputed"].to_numpy()].any()      # the region excludes RV-less stars
    member = truth != "background"
    assert out.flag[member & in_region].mean() > 0.9 and member[out.flag].mean() > 0.9
    ages = sorted(g["age"] for g in s["groups"])
    assert abs(ages[0] - 8) < 3 and abs(ages[1] - 30) < 5
    assert s["background"]["kind"] == "kde" and 0 < s["background"]["weight"] < 1
    for row in s["report"]:       # per group: members, mean and dispersion in XYZUVW, age with interval
        lo, hi = row["age_interval_myr"]
        assert lo <= row["age_myr"] <= hi and row["n_members"] > 30 and row["std_U"] < 3
    # BIC path: the background alone, then one and two groups accepted
    accepted = [p["n_groups"] for p in s["growth_path"] if p["accepted"]]
    assert accepted == [0, 1, 2]


@pytest.mark.slow
def test_select_youngest_and_containing(two_associations):
    tab = two_associations
    truth = tab.data["truth_population"].to_numpy()
    base = dict(init="growth", max_groups=3, region=REGION, background="kde", age_max=60, age_step=2)
    young = SpaceTimeDetector(**base, select="youngest").detect(tab, RunContext(seed=5, show_progress=False))
    assert set(truth[young.flag]) <= {"young", "background"} and (truth[young.flag] == "young").sum() > 30
    older_id = int(tab.data["source_id"].to_numpy()[truth == "older"][0])
    held = SpaceTimeDetector(**base, select="containing", containing=[older_id]).detect(
        tab, RunContext(seed=5, show_progress=False))
    assert (truth[held.flag] == "older").mean() > 0.9 and held.summary["flagged_groups"] != young.summary["flagged_groups"]
    with pytest.raises(RecipeError, match="containing"):
        SpaceTimeDetector(**base, select="containing").detect(tab, RunContext(seed=5, show_progress=False))


def test_region_and_field_errors_name_the_problem(small_association, ctx):
    from toolkit.core import StageError

    with pytest.raises((RecipeError, StageError), match="nope"):
        SpaceTimeDetector(init="growth", region="X < 10 and nope > 1").detect(small_association, ctx)
    with pytest.raises(RecipeError, match="region"):
        SpaceTimeDetector(init="growth", region="X <").detect(small_association, ctx)
    with pytest.raises(StageError, match="keeps 0"):
        SpaceTimeDetector(init="growth", region="X > 1e6").detect(small_association, ctx)
    with pytest.raises((RecipeError, StageError), match="p_background"):
        SpaceTimeDetector(init="memberships", init_memberships=["p_background", "p_comp*"]).detect(
            small_association, ctx)
    with pytest.raises(RecipeError, match="p_comp\\*"):
        SpaceTimeDetector(init="memberships", init_memberships=["X", "p_comp*"]).detect(small_association, ctx)


def test_init_membership_patterns_expand_in_natural_order(small_association):
    tab = small_association.with_columns(__import__("toolkit.core", fromlist=["Columns"]).Columns()
                                         .add("p_comp10", np.zeros(len(small_association)))
                                         .add("p_comp2", np.zeros(len(small_association)))
                                         .add("p_comp1", np.zeros(len(small_association)))
                                         .add("p_background", np.ones(len(small_association))))
    assert SpaceTimeDetector._expand_columns(tab, ["p_background", "p_comp*"]) == [
        "p_background", "p_comp1", "p_comp2", "p_comp10"]


def test_field_kde_matches_a_direct_sum_and_leaves_the_star_out():
    from toolkit.plugins.mixture.field_density import FieldKDE

    rng = np.random.default_rng(3)
    field = rng.normal(0, 1, (500, 6)) * [50, 50, 50, 20, 15, 10]
    kde = FieldKDE(field)
    x = field[:7]
    got = kde.log_density(x, max_elements=1000)          # several chunks
    H = np.cov(field, rowvar=False) * kde.bandwidth ** 2
    Hinv, (_, logdet) = np.linalg.inv(H), np.linalg.slogdet(H)
    d = x[:, None, :] - field[None, :, :]
    k = np.exp(-0.5 * np.einsum("nmi,ij,nmj->nm", d, Hinv, d))
    direct = np.log(k.mean(axis=1)) - 0.5 * (6 * np.log(2 * np.pi) + logdet)
    assert np.allclose(got, direct, atol=1e-9)
    loo = kde.log_density(x, np.ones(7, bool))
    direct_loo = np.log((k.sum(axis=1) - 1) / 499) - 0.5 * (6 * np.log(2 * np.pi) + logdet)
    assert np.allclose(loo, direct_loo, atol=1e-9)
