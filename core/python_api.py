"""The Python API: run a recipe from a notebook or script and get its results as astropy tables.

``toolkit.run`` does what ``toolkit run`` does (the same validation, run
folder and manifest) and returns a ``Run``; ``toolkit.load_run`` opens a run
folder written earlier. Errors are ``toolkit.core.ToolkitError`` exceptions
(with the message the command line prints), never ``SystemExit``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from .errors import ToolkitError


@dataclass
class Run:
    """A finished run: its folder, manifest and tables (read when first asked for, then kept)."""

    folder: Path
    manifest: dict
    _cache: dict = field(default_factory=dict, repr=False, compare=False)

    def __repr__(self) -> str:
        rows = self.manifest.get("rows", {})
        mock = ", MOCK DATA" if self.is_mock else ""
        return (f"<toolkit Run '{self.name}' in {self.folder}: {rows.get('after_cuts', '?')} rows scored, "
                f"{rows.get('candidates', '?')} candidates{mock}>")

    # -- facts from the manifest -------------------------------------------------------------------------
    @property
    def name(self) -> str:
        """The recipe's name."""
        return str(self.manifest.get("recipe", {}).get("name", self.folder.name))

    @property
    def seed(self) -> int | None:
        return self.manifest.get("seed")

    @property
    def is_mock(self) -> bool:
        """True when the rows came from a mock source: the results say nothing about real stars."""
        return bool(self.manifest.get("mock"))

    @property
    def recipe(self) -> dict:
        """The resolved recipe (every default filled in), as in recipe.resolved.yaml."""
        return self.manifest.get("recipe", {})

    @property
    def figures(self) -> list[Path]:
        """Paths of the run's figures (PNG), in the order the report shows them."""
        return [self.folder / f["file"] for f in self.manifest.get("figures", [])]

    @property
    def report(self) -> Path:
        return self.folder / "report.html"

    @property
    def model_dirs(self) -> dict[str, Path]:
        """Detector step -> folder of its saved model (for ``toolkit score``)."""
        out = {}
        for step, summary in (self.manifest.get("detectors") or {}).items():
            if isinstance(summary, dict) and summary.get("model_dir"):
                out[step] = self.folder / summary["model_dir"]
        return out

    # -- tables ---------------------------------------------------------------------------------------------
    @property
    def scored(self):
        """Every row that passed the cuts, with features, scores and flags (``astropy.table.Table``, units).

        A streamed run keeps them as a Parquet dataset (``scored/``); it is read whole here, so
        for a survey-size run read the files of ``scored/`` one at a time instead.
        """
        return self._table("scored")

    @property
    def candidates(self):
        """The flagged rows, most anomalous first (``astropy.table.Table`` with units)."""
        return self._table("candidates")

    @property
    def cutflow(self):
        """Each cut with rows in and out (``astropy.table.Table``)."""
        return self._table("cutflow")

    def _table(self, what: str):
        if what not in self._cache:
            self._cache[what] = _read_run_table(self.folder, what)
        return self._cache[what]


def _read_run_table(folder: Path, what: str):
    from astropy.table import vstack

    from .io import read_table

    if what == "cutflow":
        return read_table(folder / "cutflow.csv")
    single = folder / f"{what}.parquet"
    if single.is_file():
        empty = _empty_parquet(single)          # an empty Table is falsy: compare with None
        return empty if empty is not None else read_table(single)
    parts = sorted((folder / what).glob("*.parquet")) if (folder / what).is_dir() else []
    if not parts:
        raise ToolkitError(f"run folder '{folder}' has no {what}.parquet (nor a {what}/ dataset)")
    tables = [read_table(p) for p in parts]
    return tables[0] if len(tables) == 1 else vstack(tables, metadata_conflicts="silent")


def _empty_parquet(path: Path):
    """A Parquet file without rows as an empty astropy Table with its columns and units (astropy 7
    fails on one with text columns: ``max() arg is an empty sequence``); None when it has rows."""
    import pyarrow.parquet as pq
    from astropy.table import Table

    from .io import parquet_units

    try:
        data = pq.read_table(path)
    except Exception:   # noqa: BLE001 - read_table then reports the file with the reason
        return None
    if data.num_rows:
        return None
    table = Table.from_pandas(data.to_pandas())
    for name, unit in parquet_units(data).items():
        if unit and name in table.colnames:
            table[name].unit = unit
    return table


def run(recipe: str | Path, out: str | Path | None = None, set: Mapping[str, Any] | list[str] | None = None,
        seed: int | None = None, executor: str | None = None, *, chunk_rows: int | None = None,
        force: bool = False, formats: list[str] | tuple = (), quiet: bool = True) -> Run:
    """Run a recipe (a file, or a built-in recipe's name) and return the ``Run``.

    ``out``: the run folder (default ``runs/<recipe>-<time>``); ``set``: overrides
    as ``{"detectors.0.with.epochs": 5}`` (values are Python values) or as
    ``["detectors.0.with.epochs=5"]`` (YAML text, as on the command line);
    ``seed`` replaces the recipe's; ``executor``: ``memory`` (default) or
    ``stream``. ``quiet=False`` prints progress as the command line does.
    A run on simulated rows warns (``MockDataWarning``), quiet or not, and so
    does a run that recorded warnings. A problem raises
    ``toolkit.core.ToolkitError`` naming its cause.
    """
    from rich.console import Console

    from .run import execute

    overrides = _overrides(set)
    console = Console(stderr=True, quiet=quiet)
    try:
        path, manifest = execute(recipe, Path(out) if out is not None else None, overrides, seed, force,
                                 list(formats), console=console, show_progress=False if quiet else None,
                                 executor=executor, chunk_rows=chunk_rows)
    except SystemExit as exc:   # nothing in the run path should exit; if it does, say so as an error
        raise ToolkitError(f"the run stopped with exit status {exc.code}") from None
    result = Run(Path(path), manifest)
    _announce(result)
    return result


class MockDataWarning(UserWarning):
    """The run's rows were simulated: its scores and candidates say nothing about real stars."""


def _announce(run: Run) -> None:
    """What the command line prints loudly, as Python warnings (a notebook shows them even when quiet)."""
    import warnings

    if run.is_mock:
        warnings.warn(f"MOCK DATA: {run.manifest.get('data_warning') or 'the rows were simulated'}",
                      MockDataWarning, stacklevel=3)
    problems = run.manifest.get("warnings") or []
    if problems:
        warnings.warn(f"the run recorded {len(problems)} warning(s) (run.manifest['warnings']); the first: "
                      f"{str(problems[0]).splitlines()[0]}", UserWarning, stacklevel=3)


def _overrides(values) -> list[str]:
    """``{"a.b": 5}`` or ``["a.b=5"]`` -> the command line's ``KEY=YAML`` strings."""
    if values is None:
        return []
    if isinstance(values, Mapping):
        out = []
        for key, value in values.items():
            if not isinstance(key, str) or not key:
                raise ToolkitError(f"set: keys are dotted recipe paths such as 'detectors.0.with.epochs', "
                                   f"not {key!r}")
            out.append(f"{key}={json.dumps(value, allow_nan=False, default=str)}")   # JSON is YAML
        return out
    if isinstance(values, str):
        return [values]
    return [str(v) for v in values]


def load_run(folder: str | Path) -> Run:
    """Open a run folder that ``toolkit run`` (or ``toolkit.run``) wrote."""
    from .runfolder import RUN_MARKER, is_run_folder

    folder = Path(folder)
    if not folder.is_dir():
        raise ToolkitError(f"'{folder}' is not a folder")
    if not is_run_folder(folder):
        raise ToolkitError(f"'{folder}' is not a toolkit run folder: it has no toolkit {RUN_MARKER}")
    manifest = json.loads((folder / RUN_MARKER).read_text(encoding="utf-8"))
    return Run(folder, manifest)
