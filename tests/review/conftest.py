"""Fixtures of the review tests: small gaia_kinematic mock runs, made once per session."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

import pytest

from review_mock import SMALL_RUN


@pytest.fixture(scope="session")
def review_run_master(tmp_path_factory) -> Path:
    """A finished gaia_kinematic mock run (6,000 stars, 120 candidates); copy it before changing it."""
    from rich.console import Console

    from toolkit.core.run import execute

    out = tmp_path_factory.mktemp("review") / "run"
    path, _ = execute("gaia_kinematic", out, SMALL_RUN, console=Console(stderr=True, quiet=True),
                      show_progress=False)
    return path


@pytest.fixture
def review_run(review_run_master, tmp_path) -> Path:
    """A private copy of the small run (tests write labels into it)."""
    dest = tmp_path / "run"
    shutil.copytree(review_run_master, dest)
    return dest


@pytest.fixture
def serve():
    """``serve(run_dir) -> (base_url, app)``: a review server on a free loopback port, stopped afterwards."""
    from toolkit.plugins.review.server import ReviewApp, make_server

    servers = []

    def start(run_dir):
        app = ReviewApp(run_dir)
        server = make_server(app, "127.0.0.1", 0)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}", app

    yield start
    for s in servers:
        s.shutdown()
        s.server_close()
