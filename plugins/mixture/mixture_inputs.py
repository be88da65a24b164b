"""Turn table columns into what every mixture here consumes: means (n, d), covariances (n, d, d), a row mask.

Shared by mixture.gaussian, mixture.spacetime and mixture.overlap so the three
read features, covariances and bad rows the same way:

* ``covariance: auto`` uses ``cov_<a><b>`` columns when present (mixture.cartesian
  writes them), else diagonal ``<feature>_error`` columns, else zero errors.
* rows with any non-finite feature value cannot be scored: they get NaN scores
  and no membership (counted as ``unscored_rows``).
* star covariances that are not symmetric positive semi-definite, or have
  non-finite entries, are repaired (covariance_columns.regularise) and counted
  (``regularised_covariances``), never a crash.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from toolkit.core import Config, Field, StageError, Table

from .covariance_columns import diagonal_from_errors, regularise, unpack
from .frames import CARTESIAN_NAMES

CovarianceMode = Literal["auto", "columns", "errors", "none"]
CARTESIAN = list(CARTESIAN_NAMES)


class MixtureInputConfig(Config):
    features: list[str] = Field(default_factory=lambda: list(CARTESIAN), min_length=1,
                                description="feature columns (default the mixture.cartesian XYZUVW)")
    covariance: CovarianceMode = Field("auto", description=(
        "per-star covariances: auto (cov_ columns, else <feature>_error, else none), columns, errors, none"))
    covariance_prefix: str = Field("cov_", description="prefix of the covariance columns (cov_XX, cov_XY, ...)")


@dataclass
class MixtureInputs:
    X: np.ndarray             # (m, d) rows that can be scored
    S: np.ndarray             # (m, d, d)
    valid: np.ndarray         # (n,) bool
    covariance_source: str
    regularised: int


def read_inputs(table: Table, cfg: MixtureInputConfig, stage: str, require_rows: bool = True) -> MixtureInputs:
    """The rows' inputs; ``require_rows=False`` (scoring a chunk) allows a chunk without a scorable row."""
    table.require(cfg.features, stage)
    names = cfg.features
    X = np.column_stack([table.array(f) for f in names])
    S, source = None, "none"
    if cfg.covariance in ("auto", "columns"):
        S = unpack(table, names, cfg.covariance_prefix)
        source = "columns" if S is not None else source
        if S is None and cfg.covariance == "columns":
            raise StageError(f"{stage}: covariance: columns, but no '{cfg.covariance_prefix}<a><b>' columns for "
                             f"features {names}; run mixture.cartesian first or use covariance: errors|none")
    if S is None and cfg.covariance in ("auto", "errors"):
        S = diagonal_from_errors(table, names)
        source = "errors" if S is not None else source
        if S is None and cfg.covariance == "errors":
            raise StageError(f"{stage}: covariance: errors, but no '<feature>_error' columns for {names}")
    if S is None:
        S = np.zeros((len(table), len(names), len(names)))
    valid = np.all(np.isfinite(X), axis=1)
    if require_rows and not valid.any():
        raise StageError(f"{stage}: no row has finite values in all of {names}; nothing to fit")
    S_ok, n_fixed = regularise(S[valid])
    return MixtureInputs(X[valid], S_ok, valid, source, n_fixed)
