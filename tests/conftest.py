"""Shared fixtures: the real data in ../shared/data (skipped when absent) and small helpers."""

from __future__ import annotations

from pathlib import Path

import pytest

#: the fake TAP service fixtures (fake_tap, refused_url) for the remote-client tests
pytest_plugins = ["fake_tap"]

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture
def shared_data() -> Path:
    """../shared/data beside the checkout; tests that need it skip on a user's clone."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real test data folder {SHARED_DATA} is absent (it exists only beside the dev checkout)")
    return SHARED_DATA


@pytest.fixture
def ctx(tmp_path):
    """A RunContext writing figures and artifacts into a temporary folder."""
    from toolkit.core import RunContext

    return RunContext(seed=1, workdir=tmp_path / "run", show_progress=False)


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path, monkeypatch):
    """Never read or write the user's real query cache from tests."""
    monkeypatch.setenv("TOOLKIT_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("MPLBACKEND", "Agg")


@pytest.fixture(autouse=True, scope="session")
def _cli_with_plugin_commands():
    """``toolkit.core.cli.app`` as the ``toolkit`` command builds it: with the commands plugins add
    through ``toolkit_register_commands`` (score from detectors, match from catalogs, review)."""
    from toolkit.core import cli

    cli.register_plugin_commands()
