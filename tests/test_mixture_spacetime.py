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
    tr = EpicyclicTracer(solar_motion=(0, 0, 0))
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
    assert (ctx.workdir / "models" / "st" / "mixture_spacetime.json").exists()


def test_spacetime_needs_cartesian_features(small_association, ctx):
    with pytest.raises(RecipeError, match="XYZUVW|features must be"):
        SpaceTimeDetector(features=["X", "Y"]).detect(small_association, ctx)
    with pytest.raises(RecipeError, match="age_max"):
        SpaceTimeDetector(age_min=50, age_max=10).detect(small_association, ctx)
