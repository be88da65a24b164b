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
