"""Turning points, periods, circular orbits and input checks of orbit_summaries on hand-made samples.

Written from mutation testing (`make mutants`, target summaries): the refined time of a turning
point, the count of turning points, the circular test and the shape checks each have a case
whose answer is known exactly here.
"""

import numpy as np
import pytest

from toolkit.plugins.orbits.summaries import orbit_summaries


def planar(r: np.ndarray) -> np.ndarray:
    """(3, time, 1) positions at radius r on the x axis, z = 0."""
    return np.stack([r, np.zeros_like(r), np.zeros_like(r)])[:, :, None]


def test_refined_turning_times_give_the_radial_period():
    """r = 8 + cos(2 pi (t - 3.3) / 7.3): apocentre at t = 3.3, pericentre at 6.95 (between samples)."""
    t = np.arange(0.0, 9.0, 0.5)
    s = orbit_summaries(planar(8.0 + np.cos(2 * np.pi * (t - 3.3) / 7.3)), t + 100.0)   # a grid not starting at 0
    assert s["radial_turns"][0] == 2                            # one apocentre + one pericentre
    assert s["period_r"][0] == pytest.approx(7.3, abs=0.02)       # 2 x (6.95 - 3.3); parabola refinement
    assert s["rapo"][0] == pytest.approx(9.0, abs=2e-3) and s["rperi"][0] == pytest.approx(7.0, abs=2e-3)


def test_turning_point_counts_add_up():
    t = np.arange(0.0, 20.0)
    r = 8.0 + np.cos(2 * np.pi * (t - 0.3) / 6.0)   # maxima at 6.3, 12.3, 18.3 (0.3 is the edge); minima 3.3, 9.3, 15.3
    s = orbit_summaries(planar(r), t)
    assert s["radial_turns"][0] == 6
    assert s["period_r"][0] == pytest.approx(6.0, abs=0.02)     # 2 x (18.3 - 3.3) / 5


def test_circular_tolerance_compares_the_eccentricity_like_ratio():
    """(r_max - r_min) / (r_max + r_min) just above 1e-6 is not circular; just below is."""
    t = np.arange(0.0, 12.0)
    wobble = np.cos(2 * np.pi * t / 5.0)
    for ratio, circular in ((2e-6, False), (5e-7, True)):
        r = 8.0 * (1 + ratio * wobble)                          # (max - min) / (max + min) ~ ratio
        s = orbit_summaries(planar(r), t)
        assert bool(s["circular"][0]) is circular, ratio
        assert bool(s["radial_turns"][0] == 0) is circular          # turning points of round-off are not counted
        assert bool(np.isnan(s["period_r"][0])) is circular


def test_constant_radius_is_circular_by_default():
    s = orbit_summaries(planar(np.full(6, 8.0)), np.arange(6.0))
    assert s["circular"][0] and s["radial_turns"][0] == 0 and s["ecc"][0] == 0


@pytest.mark.parametrize("shape,match", [((4, 5, 2), "shape"), ((2, 5, 2), "shape"), ((3, 5), "shape"),
                                         ((3, 5, 2, 1), "shape"), ((3, 2, 4), "at least 3 samples")])
def test_bad_shapes_are_refused(shape, match):
    with pytest.raises(ValueError, match=match):
        orbit_summaries(np.zeros(shape), np.arange(float(shape[1] if len(shape) > 1 else 1)))


def test_three_samples_are_enough():
    s = orbit_summaries(planar(np.array([8.0, 9.0, 8.5])), np.arange(3.0))
    assert s["radial_turns"][0] == 1 and s["rapo"][0] > 9.0 and np.isnan(s["period_r"][0])
