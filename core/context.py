"""What a component sees of the run: seed, folders, progress, figures, notes."""

from __future__ import annotations

import hashlib
import os
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np
from rich.markup import escape
from rich.console import Console


def cache_dir() -> Path:
    """On-disk cache for remote queries: $TOOLKIT_CACHE or ~/.cache/toolkit."""
    return Path(os.environ.get("TOOLKIT_CACHE", Path.home() / ".cache" / "toolkit"))


@dataclass(frozen=True)
class Frame:
    """The reference frame a step put the run's phase-space columns in (``RunContext.frame``).

    Set by the feature that computes the columns (``gaia.galactocentric``, ``mixture.cartesian``)
    and read by later steps (``orbits.gala`` reports it), so a fact shared between plugins is a
    typed attribute, not a string key of ``ctx.notes``."""

    name: str                                  # e.g. "astropy.coordinates.Galactocentric"
    parameters: dict = field(default_factory=dict)   # JSON-able: distances, solar motion, ...
    recorded_by: str = ""                      # the step that set it ("features.galactocentric")


class RunContext:
    """Handed to every component method.

    ``workdir`` is the run's staging folder (moved into place when the run
    succeeds); components write only through ``save_figure``, ``artifact_dir``
    and ``record`` so that a failed run leaves nothing behind. Facts shared
    between steps are typed attributes: ``frame`` (``set_frame``), ``inputs``
    (``record_input``), ``seed``, ``executor``.
    """

    def __init__(self, seed: int = 0, workdir: Path | None = None, console: Console | None = None,
                 figures: bool = True, show_progress: bool | None = None) -> None:
        self.seed = int(seed)
        self.workdir = Path(workdir) if workdir else None
        self.console = console or Console(stderr=True)
        self.figures_enabled = figures and self.workdir is not None
        self.show_progress = self.console.is_terminal if show_progress is None else show_progress
        self.step = ""            # "<stage>.<name>" of the step running now
        self.notes: dict[str, dict] = {}
        self.figures: list[dict] = []
        self.warnings: list[str] = []
        self.executor = "memory"   # set by the runner: "memory" or "stream"
        #: files (and remote queries) the run read -> sha256 (or query key), for manifest.json's inputs
        self.inputs: dict[str, str] = {}
        #: the frame of the phase-space columns, set by the step that computed them (None: none did)
        self.frame: Frame | None = None

    def step_name(self, fallback: str = "") -> str:
        """The running step's name (``ae`` for ``detectors.ae``), or ``fallback`` outside a run."""
        return self.step.split(".", 1)[-1] if self.step else fallback

    # -- randomness -------------------------------------------------------
    def rng(self, salt: str = "") -> np.random.Generator:
        """A generator seeded from the recipe seed and the step, so steps are independent."""
        digest = hashlib.sha256(f"{self.seed}:{self.step}:{salt}".encode()).digest()
        return np.random.default_rng(int.from_bytes(digest[:8], "little"))

    def step_seed(self, salt: str = "") -> int:
        return int(self.rng(salt).integers(0, 2**31 - 1))

    # -- outputs ----------------------------------------------------------
    def record(self, key: str, value) -> None:
        """A JSON-able note for manifest.json under ``notes[<step>][key]``."""
        self.notes.setdefault(self.step or "run", {})[key] = value

    def record_input(self, path: str | Path, sha256: str | None = None) -> str:
        """Record a file the step read (its sha256 is computed unless given; a remote query passes its
        cache key as ``path`` and a digest) in manifest.json's ``inputs``; returns the sha256."""
        if sha256 is None:
            from .io import file_sha256

            sha256 = file_sha256(path)
        self.inputs[str(path)] = sha256
        return sha256

    def set_frame(self, name: str, parameters: dict | None = None) -> Frame:
        """Declare the frame this step's phase-space columns are in (``ctx.frame`` for later steps;
        also noted under ``notes[<step>]["frame"]`` in manifest.json)."""
        params = dict(parameters or {})
        self.frame = Frame(name, params, self.step)
        self.record("frame", params)
        return self.frame

    def warn(self, message: str) -> None:
        """Record a warning in the manifest; the terminal gets its first line (details in manifest.json)."""
        self.warnings.append(f"{self.step}: {message}" if self.step else message)
        self.console.print(f"[yellow]warning[/yellow] {escape(self.step)}: {escape(one_line(message))}")

    def info(self, message: str) -> None:
        self.console.print(f"  {escape(message)}")

    def artifact_dir(self, kind: str = "models") -> Path | None:
        """A folder inside the run for this step's files (e.g. fitted model state)."""
        if self.workdir is None:
            return None
        d = self.workdir / kind / self.step.split(".", 1)[-1]
        d.mkdir(parents=True, exist_ok=True)
        return d

    def save_figure(self, fig, name: str, caption: str = "") -> Path | None:
        """Save a matplotlib figure as figures/<step>_<name>.png and list it in the report."""
        import matplotlib.pyplot as plt

        try:
            if not self.figures_enabled:
                return None
            stem = f"{self.step.split('.', 1)[-1]}_{name}" if self.step else name
            path = self.workdir / "figures" / f"{stem}.png"
            path.parent.mkdir(parents=True, exist_ok=True)
            fig.savefig(path, dpi=110, bbox_inches="tight")
            self.figures.append({"file": f"figures/{path.name}", "caption": caption, "step": self.step})
            return path
        finally:
            plt.close(fig)

    # -- progress ---------------------------------------------------------
    @contextmanager
    def progress(self, description: str, total: float | None = None) -> Iterator:
        """``with ctx.progress("training", total=epochs) as advance: advance(1)``."""
        if not self.show_progress:
            yield lambda n=1: None
            return
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

        cols = [TextColumn("  {task.description}"), BarColumn(), TextColumn("{task.completed:>.0f}/{task.total:.0f}"),
                TimeElapsedColumn(), TimeRemainingColumn()]
        with Progress(*cols, console=self.console, transient=True) as bar:
            task = bar.add_task(description, total=total)
            yield lambda n=1: bar.advance(task, n)

    def track(self, items: Iterable, description: str, total: int | None = None) -> Iterator:
        items = list(items) if total is None and not hasattr(items, "__len__") else items
        total = total if total is not None else len(items)
        with self.progress(description, total) as advance:
            for item in items:
                yield item
                advance(1)


def one_line(message: str, width: int = 100) -> str:
    """The first line of a message for the terminal, marked when the rest went to manifest.json."""
    lines = str(message).strip().splitlines() or [""]
    first = lines[0] if len(lines[0]) <= width else lines[0][:width - 1] + "…"
    return first + (" (details in manifest.json)" if len(lines) > 1 or first != lines[0] else "")
