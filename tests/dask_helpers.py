"""Test-only helpers for the dask executor and HATS tests: a shared local cluster, small HATS catalogues,
features that kill their worker process (importable by the workers, which unpickle components by name)."""

from __future__ import annotations

import logging
import os
import signal
from pathlib import Path

import numpy as np
import pytest

from toolkit.core import Columns, Config, Feature, Field, RunContext, write_hats

pytest.importorskip("distributed", reason="the dask executor needs the [dask] extra")
pytest.importorskip("lsdb", reason="HATS catalogues need the [dask] extra")


@pytest.fixture(scope="session")
def cluster():
    """One LocalCluster of 2 worker processes (1 thread each) for the tests that do not kill workers;
    runs reach it as an existing scheduler (``executor.scheduler``), so its start is paid once."""
    import distributed

    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0",
                                  silence_logs=logging.ERROR) as c:
        yield c.scheduler_address


class KillWorkerOnce(Feature):
    """Kills the worker process computing it, the first time only (a marker file remembers)."""

    name = "test.kill_worker_once"
    summary = "SIGKILLs its own process once, guarded by a marker file (worker-failure tests)."

    class Config(Config):
        marker: str = Field(description="file created just before the kill; present = do not kill")
        always: bool = Field(False, description="kill every time (a partition that can never finish)")

    def compute(self, table, ctx):
        marker = Path(self.config.marker)
        if self.config.always or not marker.exists():
            marker.touch()
            os.kill(os.getpid(), signal.SIGKILL)
        return Columns().add("survived", np.ones(len(table), bool))


def gaia_mock_hats(path: Path, n_stars: int, seed: int = 3, partition_rows: int = 2_000) -> Path:
    """The gaia.mock sample written as a HATS catalogue (units kept in its properties)."""
    from toolkit.plugins.gaia.mock import GaiaMock

    table = GaiaMock(n_stars=n_stars).load(RunContext(seed=seed))
    return write_hats(table, path, "gaia_mock", partition_rows=partition_rows)


#: the symbiotic mock split the way the surveys publish it: (catalogue, id column, its columns, offset arcsec)
SURVEYS = {
    "skymapper": ("object_id", ["u_psf", "e_u_psf", "v_psf", "e_v_psf", "g_psf", "e_g_psf", "r_psf", "e_r_psf",
                                "i_psf", "e_i_psf", "z_psf", "e_z_psf", "class_star", "flags", "ebmv_sfd",
                                "truth_population"], 0.0),
    "twomass": ("tmass_key", ["j_m", "j_msigcom", "h_m", "h_msigcom", "k_m", "k_msigcom", "ph_qual"], 0.25),
    "allwise": ("allwise_cntr", ["w1mpro", "w1sigmpro", "w2mpro", "w2sigmpro"], 0.4),
    "gaia": ("source_id", ["parallax", "parallax_error", "r_med_geo", "r_lo_geo", "r_hi_geo"], 0.1),
}


def symbiotic_mock_hats(folder: Path, mock: dict, seed: int = 42) -> dict[str, Path]:
    """The symbiotic.mock rows as four HATS catalogues (SkyMapper, 2MASS, AllWISE, Gaia), each survey's positions
    moved by a fraction of an arcsec, with ids of their own: what the symbiotic recipe cross-matches."""
    from toolkit.core import ColumnInfo, Table
    from toolkit.plugins.symbiotic.mock import SymbioticMock

    ctx = RunContext(seed=seed)
    table = SymbioticMock(**mock).load(ctx)
    rng = np.random.default_rng(11)
    paths = {}
    for survey, (id_column, columns, offset) in SURVEYS.items():
        own_id = [id_column] if id_column in table.data and id_column != "object_id" else []
        frame = table.data[["object_id", "ra", "dec", *columns, *own_id]].copy()
        if survey == "gaia":
            frame = frame[np.isfinite(frame["parallax"])]
        if survey != "skymapper":
            ids = frame.pop("object_id").astype(np.int64)
            if not own_id:
                frame[id_column] = ids * 7 + len(survey)
        pa = rng.uniform(0, 2 * np.pi, len(frame))
        frame["ra"] = frame["ra"] + offset / 3600 * np.sin(pa) / np.cos(np.radians(frame["dec"]))
        frame["dec"] = frame["dec"] + offset / 3600 * np.cos(pa)
        info = {c: table.info.get(c, ColumnInfo()) for c in frame.columns}
        paths[survey] = write_hats(Table(frame.reset_index(drop=True), info, id_column), folder / survey, survey,
                                   partition_rows=1500)
    return paths
