"""Every component against toolkit's contract checks, and each doing its work on simulated stars."""

import numpy as np
import pytest

from toolkit.core import Columns, RunContext
from toolkit.core.testing import check_component
from toolkit_rave.catalog import RaveKnownStars
from toolkit_rave.cut import RaveQualityCut
from toolkit_rave.detector import RaveRobustZ
from toolkit_rave.feature import RaveVelocity
from toolkit_rave.source import RaveMock
from toolkit_rave.validator import RaveMetalPoor


@pytest.fixture(scope="module")
def stars():
    """600 simulated stars with the feature columns the detector and validator read."""
    table = RaveMock(n_stars=600, halo_fraction=0.05).load(RunContext(seed=1))
    return table.with_columns(RaveVelocity().compute(table, RunContext(seed=1)))


def test_source_contract():
    check_component(RaveMock, config={"n_stars": 300})


def test_cut_contract(stars):
    check_component(RaveQualityCut, stars)


def test_feature_contract(stars):
    check_component(RaveVelocity, stars)


def test_detector_contract(stars):
    """Includes saving and loading the fitted model: the loaded model gives identical scores."""
    check_component(RaveRobustZ, stars, config={"features": ["hrv_z", "feh"]})


def test_validator_contract(stars):
    flagged = stars.with_columns(Columns().add("flag_test", stars.array("hrv_z") > 2))
    check_component(RaveMetalPoor, flagged)


def test_catalog_contract():
    check_component(RaveKnownStars)


def test_detector_ranks_halo_stars_first(stars):
    """The work itself: fast stars score highest, so the top 2% hold far more halo stars than the rest."""
    detection = RaveRobustZ(features=["hrv_z"]).detect(stars, RunContext(seed=1))
    top = np.argsort(-detection.score)[: len(stars) // 50]
    halo = stars.data["truth_population"].to_numpy() == "halo"
    assert halo[top].mean() > 5 * halo.mean()


def test_quality_cut_keeps_good_spectra(stars):
    keep = RaveQualityCut(min_snr=30).mask(stars, RunContext())
    assert keep.any() and not keep.all()
    assert (stars.array("snr")[keep] >= 30).all()
