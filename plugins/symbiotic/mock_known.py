"""``symbiotic.mock_known``: the "known symbiotic stars" catalogue that goes with ``symbiotic.mock``.

A deterministic subset (``known_fraction``) of the mock's injected symbiotic systems, with
catalogue positions scattered by ``position_scatter_arcsec`` (as a literature catalogue's
astrometry would be). Built from the same parameters and seed as the mock, so matching a
mock run against it measures recall offline. Keep the mock parameters here equal to the
source's (both default to the recipe's seed).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from toolkit.core import TRUTH_COLUMN, Catalog, Field, StageError, Table
from toolkit.core import RunContext
from toolkit.core import ColumnInfo

from .mock import MockParams, generate_mock


class MockKnownSymbiotics(Catalog):
    name = "symbiotic.mock_known"
    summary = "Known-symbiotic catalogue for symbiotic.mock: a fixed subset of its injected systems (offline recall)."
    citation = "simulated by toolkit (symbiotic.mock); not a real catalogue"

    class Config(MockParams):
        known_fraction: float = Field(0.6, ge=0, le=1, description="fraction of the injected symbiotics listed")
        position_scatter_arcsec: float = Field(0.3, ge=0, description="rms catalogue position error per axis (arcsec)")

    def load(self, ctx: RunContext) -> Table:
        cfg = self.config
        seed = cfg.resolved_seed(ctx)
        params = MockParams(**{k: getattr(cfg, k) for k in MockParams.model_fields})
        frame = generate_mock(params, seed)
        sym = frame[frame[TRUTH_COLUMN] == "symbiotic"].sort_values("object_id")
        if sym.empty:
            raise StageError("symbiotic.mock_known: the mock has no injected symbiotics (n_symbiotic = 0)")
        rng = np.random.default_rng([seed, 0x6E0])
        n_known = int(round(cfg.known_fraction * len(sym)))
        chosen = np.sort(rng.choice(len(sym), size=n_known, replace=False))
        known = sym.iloc[chosen]
        scatter = cfg.position_scatter_arcsec / 3600.0
        dec = known["dec"].to_numpy() + rng.normal(0, scatter, n_known)
        ra = (known["ra"].to_numpy() + rng.normal(0, scatter, n_known) / np.cos(np.radians(dec))) % 360.0
        out = pd.DataFrame({"name": [f"MockSy {i + 1:03d}" for i in range(n_known)], "ra": ra, "dec": dec,
                            "object_id": known["object_id"].to_numpy()})
        info = {"name": ColumnInfo(None, "catalogue name"), "ra": ColumnInfo("deg", "ICRS"),
                "dec": ColumnInfo("deg", "ICRS"), "object_id": ColumnInfo(None, "the mock row this entry lists")}
        return Table(out, info, "name", {"mock": True, "catalogue": self.name})
