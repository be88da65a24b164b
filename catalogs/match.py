"""``catalogs.match``: which rows are known objects, and how well the detectors found them.

Per row (chunk-pure): ``match_<short>`` (name of the nearest catalogue object
within the radius, '' when none) and ``match_<short>_sep`` (arcsec, NaN when
none). For the whole table (not chunk-pure, it needs every row): how many
catalogue objects fall in the table's footprint and in the table, how many of
them each ``flag_*`` column flags, their ranks in each ``score_*`` column and
precision/recall at k. See ``crossmatch`` for the epoch caveat: the
catalogues give J2000 positions, Gaia DR3 epoch-2016.0 positions; set
``table_epoch`` to move rows to the catalogue epoch with their proper motions.

``match_table_file`` is the same match for any table file (``toolkit match``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal, Sequence

import numpy as np
from pydantic import BaseModel, ConfigDict, PrivateAttr, ValidationInfo, model_validator
from rich.markup import escape

from toolkit.core import (Columns, Config, Field, RecipeError, RunContext, SourceUnavailable, StageError, Table,
                          Validation, Validator)

from toolkit.core import one_line
from toolkit.core import is_file

from .coordinates import angles_to_degrees, detect_position_columns
from .crossmatch import match_rows, propagate_positions, recall_statistics
from .known_table import short_name_of
from toolkit.core import flag_for

EPOCH_NOTE = ("Catalogue positions are J2000 (epoch ~2000); Gaia DR3 positions are epoch 2016.0. Without "
              "table_epoch + proper motions, stars moving faster than ~radius/16 yr (125 mas/yr for 2 arcsec) "
              "can be missed.")

ID_COLUMNS = ("source_id", "row_id", "object_id", "id", "ID")
OUTPUT_FORMATS = {"csv": "ascii.csv", "fits": "fits", "votable": "votable", "parquet": "parquet",
                  "ecsv": "ascii.ecsv"}
SUFFIX_FORMATS = {".csv": "csv", ".fits": "fits", ".fit": "fits", ".vot": "votable", ".xml": "votable",
                  ".votable": "votable", ".parquet": "parquet", ".pq": "parquet", ".ecsv": "ecsv"}


class CatalogStep(BaseModel):
    """One catalogue to match against: ``{use: catalog.x, with: {...}, short_name: ...}``."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, serialize_by_alias=True)
    use: str = Field(description="a registered catalog component, e.g. catalogs.belczynski2000 or catalogs.file")
    with_: dict[str, Any] = Field(default_factory=dict, alias="with", description="the catalogue's settings")
    short_name: str | None = Field(None, description="overrides the catalogue's short name in match_<short>")
    #: the recipe loader's validation context, so that the catalogue's own paths (catalogs.file's
    #: ``path``) resolve against the recipe's folder like any step's
    _context: dict | None = PrivateAttr(None)

    @model_validator(mode="after")
    def _keep_context(self, info: ValidationInfo) -> "CatalogStep":
        self._context = info.context
        return self


def build_catalog(step: CatalogStep, registry=None):
    """The catalog component for a step, its config validated now (before any work)."""
    from pydantic import ValidationError

    from toolkit.core import get_registry

    registry = registry or get_registry()
    entry = registry.get(step.use, "catalog")
    try:
        component = entry.cls(entry.cls.Config.model_validate(step.with_, context=step._context))
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or '(config)'}: {e['msg']}" for e in exc.errors())
        raise RecipeError(f"catalogue {step.use}: {problems}") from None
    # the values as validated (a relative path now absolute), so the run folder's resolved recipe reruns anywhere
    given = set(step.with_)
    step.with_ = {k: v for k, v in component.config.model_dump(mode="json").items() if k in given}
    step.use = entry.name   # a former name, resolved (with its deprecation message) once
    short = step.short_name or getattr(component, "short_name", None) or step.use.rsplit(".", 1)[-1]
    return short_name_of(short), component


def table_positions(table: Table, ra_column: str | None, dec_column: str | None, where: str):
    """(ra, dec) degrees of every row; columns detected like a catalogue's."""
    cols = detect_position_columns(table.columns, lambda c: table.data[c].dtype.kind in "fiu",
                                   ra=ra_column, dec=dec_column, where=where)
    if cols.split:
        from .coordinates import split_to_degrees

        return (*split_to_degrees(lambda c: table.data[c].to_numpy(), cols.split), cols.describe())
    ra = angles_to_degrees(table.data[cols.ra].to_numpy(), "ra", unit=table.info[cols.ra].unit, column=cols.ra,
                           where=where)
    dec = angles_to_degrees(table.data[cols.dec].to_numpy(), "dec", unit=table.info[cols.dec].unit,
                            column=cols.dec, where=where)
    return ra, dec, cols.describe()


class CatalogMatch(Validator):
    name = "catalogs.match"
    aliases = ("match.catalog",)   # the former name, until the next release
    summary = "Sky cross-match against known-object catalogues: matched names, separations, recall of the scores."

    class Config(Config):
        catalogs: list[CatalogStep] = Field(description="catalogues to match: [{use: catalog.x, with: {...}}]",
                                            min_length=1)
        radius_arcsec: float = Field(2.0, gt=0, description="match radius (arcsec)")
        on_unavailable: Literal["error", "skip"] = Field(
            "error", description="a catalogue that cannot be fetched: stop (error) or go on without it "
                                 "(skip; the reason is kept in the summary)")
        ra_column: str | None = Field(None, description="RA column of the table; detected when omitted")
        dec_column: str | None = Field(None, description="Dec column of the table; detected when omitted")
        table_epoch: float | None = Field(None, description="epoch (Julian year) of the table positions, e.g. "
                                                            "2016.0 for Gaia DR3; with proper motions, rows are "
                                                            "moved to each catalogue's epoch before matching")
        pmra_column: str = Field("pmra", description="mu_alpha* (mas/yr) column, used with table_epoch")
        pmdec_column: str = Field("pmdec", description="mu_delta (mas/yr) column, used with table_epoch")
        score_columns: list[str] | None = Field(None, description="scores to rank known objects by; every "
                                                                  "score_* column when omitted")
        flag_columns: list[str] | None = Field(None, description="flags to count known objects in; every "
                                                                 "flag_* column when omitted")
        k: list[int | Literal["n_flagged"]] = Field([10, 50, 100, "n_flagged"],
                                                    description="k for precision/recall at k (top-k rows by score)")
        footprint_radius_arcmin: float = Field(30.0, gt=0, description="a catalogue object is in the table's "
                                                                       "footprint when a row lies this close")
        max_listed: int = Field(100, ge=0, description="known objects listed in the summary (best ranked first)")
        figure: bool = Field(True, description="score distribution with the known objects marked")

    def __init__(self, config=None, **params) -> None:
        super().__init__(config, **params)
        self.catalogs = [build_catalog(step) for step in self.config.catalogs]
        shorts = [s for s, _ in self.catalogs]
        dup = {s for s in shorts if shorts.count(s) > 1}
        if dup:
            raise RecipeError(f"catalogs.match: two catalogues share the short name {sorted(dup)}; set short_name "
                              f"on one of them (it names the columns match_<short_name>)")

    # -- the per-row part ----------------------------------------------------
    def _positions(self, table: Table):
        cfg = self.config
        ra, dec, described = table_positions(table, cfg.ra_column, cfg.dec_column, where="catalogs.match")
        pm = None
        if cfg.table_epoch is not None:
            table.require([cfg.pmra_column, cfg.pmdec_column], "catalogs.match (table_epoch needs proper motions)")
            pm = (table.array(cfg.pmra_column), table.array(cfg.pmdec_column))
        return ra, dec, pm, described

    def _at_catalogue_epoch(self, positions, catalogue: Table):
        """The rows' (ra, dec) moved to the catalogue's epoch when proper motions and both epochs are known."""
        ra, dec, pm, _ = positions
        cat_epoch = catalogue.meta.get("epoch")
        if pm is not None and cat_epoch is not None:
            ra, dec = propagate_positions(ra, dec, pm[0], pm[1], self.config.table_epoch, cat_epoch)
        return ra, dec

    def match_columns(self, short: str, catalogue: Table, ra, dec) -> tuple[Columns, np.ndarray]:
        """The chunk-pure part: each row's nearest catalogue object within the radius."""
        idx, sep = match_rows(ra, dec, catalogue.array("ra"), catalogue.array("dec"), self.config.radius_arcsec)
        names = catalogue.data["name"].to_numpy().astype(object)
        matched = np.array([names[i] if i >= 0 else "" for i in idx], dtype=object)
        src = catalogue.meta.get("source", short)
        cols = Columns()
        cols.add(f"match_{short}", matched,
                 description=f"name of the nearest {src} object within {self.config.radius_arcsec:g} arcsec "
                             f"('' when none)")
        cols.add(f"match_{short}_sep", sep, unit="arcsec",
                 description=f"separation to match_{short} (NaN when none)")
        return cols, idx

    # -- the whole-table part -----------------------------------------------
    def validate(self, table: Table, ctx: RunContext) -> Validation:
        cfg = self.config
        positions = self._positions(table)
        scores = self._columns(table, cfg.score_columns, "score_")
        flags = self._columns(table, cfg.flag_columns, "flag_")
        columns, summary = Columns(), {
            "radius_arcsec": cfg.radius_arcsec, "positions": positions[3],
            "epoch": {"table_epoch": cfg.table_epoch, "propagated": positions[2] is not None,
                      "note": EPOCH_NOTE}, "catalogs": {}}
        figure_data = []
        for (short, component), step in zip(self.catalogs, cfg.catalogs):
            try:
                catalogue = component.load(ctx)
            except SourceUnavailable as exc:
                if cfg.on_unavailable == "error":
                    raise
                ctx.warn(f"catalogue {step.use} skipped (on_unavailable: skip): {exc}")
                summary["catalogs"][short] = {"use": step.use, "skipped": True, "reason": str(exc)}
                continue
            ra, dec = self._at_catalogue_epoch(positions, catalogue)
            cols, idx = self.match_columns(short, catalogue, ra, dec)
            for name in cols.names():
                columns.data[name], columns.info[name] = cols.data[name], cols.info[name]
            stats = recall_statistics(
                ra=ra, dec=dec, cat_names=catalogue.data["name"].to_numpy(), cat_ra=catalogue.array("ra"),
                cat_dec=catalogue.array("dec"), row_cat_index=idx, radius_arcsec=cfg.radius_arcsec,
                footprint_radius_arcmin=cfg.footprint_radius_arcmin, scores=scores, flags=flags, ks=cfg.k,
                row_ids=table.data[table.id_column].to_numpy(), max_listed=cfg.max_listed)
            provenance = {k: v for k, v in catalogue.meta.items()
                          if k in ("source", "citation", "bibcode", "epoch", "cache", "cache_hit", "fetched_utc",
                                   "tables", "dropped_no_position", "duplicates_dropped", "inputs")}
            summary["catalogs"][short] = {"use": step.use, "skipped": False, **provenance, **stats}
            figure_data.append((short, idx))
        if cfg.figure and figure_data and getattr(ctx, "figures_enabled", False):
            self._figure(table, scores, figure_data, ctx)
        return Validation(columns, summary)

    @staticmethod
    def _columns(table: Table, names: list[str] | None, prefix: str) -> dict[str, np.ndarray]:
        if names is None:
            names = [c for c in table.columns if c.startswith(prefix)]
        else:
            table.require(names, "catalogs.match")
        if prefix == "flag_":
            return {c: table.data[c].fillna(False).to_numpy().astype(bool) for c in names}
        return {c: table.array(c) for c in names}

    def _figure(self, table: Table, scores: dict, figure_data, ctx: RunContext) -> None:
        import matplotlib

        matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt

        if not scores:
            return  # nothing to rank; the match columns and the summary say it all
        fig, axes = plt.subplots(len(scores), 1, figsize=(7, 2.8 * len(scores)), squeeze=False)
        colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
        for ax, (col, score) in zip(axes[:, 0], scores.items()):
            finite = score[np.isfinite(score)]
            if len(finite):
                ax.hist(finite, bins=60, color="0.75", label=f"all rows ({len(finite)})")
            ax.set_yscale("log")
            for j, (short, idx) in enumerate(figure_data):
                known = score[(idx >= 0) & np.isfinite(score)]
                colour = colours[(j + 1) % len(colours)]
                if len(known):
                    ax.vlines(known, 0, 1, transform=ax.get_xaxis_transform(), color=colour, lw=0.8, alpha=0.8)
                ax.plot([], [], color=colour, label=f"matched to {short} ({len(known)})")
            flag_col = flag_for(col)
            if flag_col in table.data and table.data[flag_col].any() and len(finite):
                threshold = np.nanmin(score[table.data[flag_col].fillna(False).to_numpy(bool)])
                ax.axvline(threshold, color="k", ls="--", lw=1, label=f"{flag_col} threshold")
            ax.set_xlabel(f"{col} (higher = more anomalous)")
            ax.set_ylabel("rows")
            ax.legend(fontsize=7, loc="upper right")
        fig.tight_layout()
        ctx.save_figure(fig, "score_known_objects",
                        caption="Score distribution of all rows; vertical lines mark rows matched to known "
                                "objects (one colour per catalogue); dashed: the lowest flagged score.")


# -- toolkit match ------------------------------------------------------------

def catalog_step_for(ref: str, registry=None, short_name: str | None = None) -> CatalogStep:
    """A registered catalogue name, or a path (then ``catalogs.file``)."""
    from toolkit.core import get_registry

    registry = registry or get_registry()
    entry = registry.entries.get(ref)
    if entry is not None and entry.kind == "catalog":
        return CatalogStep(use=ref, short_name=short_name)
    if is_file(ref):
        return CatalogStep(use="catalogs.file", with_={"path": str(ref)}, short_name=short_name)
    known = ", ".join(e.name for e in registry.of_kind("catalog")) or "(none)"
    import difflib

    near = difflib.get_close_matches(ref, [e.name for e in registry.of_kind("catalog")], n=2)
    hint = f" Did you mean {', '.join(repr(n) for n in near)}?" if near else ""
    raise RecipeError(f"--catalog {ref!r} is neither a registered catalogue nor an existing file.{hint} "
                      f"Registered catalogues: {known}.")


def _check_out_path(out_path: Path, inputs: list[Path], overwrite: bool) -> None:
    """--out never replaces an input, a folder, or (without --force) an existing file."""
    for path in inputs:
        try:
            same = is_file(path) and out_path.exists() and out_path.samefile(path)
        except OSError:
            same = False
        if same:
            raise RecipeError(f"--out '{out_path}' is one of the inputs; write the matched table to a new file")
    if out_path.is_dir():
        raise RecipeError(f"--out '{out_path}' is a folder; give a file name such as matched.fits")
    if out_path.exists() and not overwrite:
        raise RecipeError(f"--out '{out_path}' already exists; pass --force to replace it")


def registry_entry_cls(name: str, registry=None):
    """The component class registered under ``name`` (None for an unknown one)."""
    from toolkit.core import get_registry

    entry = (registry or get_registry()).entries.get(name)
    return entry.cls if entry is not None else None


def _output_format(out_path: Path, format: str | None) -> str:
    if format:
        if format not in OUTPUT_FORMATS:
            raise RecipeError(f"--format {format!r}: choose one of {', '.join(OUTPUT_FORMATS)}")
        return format
    name = out_path.name.lower()
    for suffix, fmt in SUFFIX_FORMATS.items():
        if name.endswith(suffix):
            return fmt
    raise RecipeError(f"cannot tell the format of '{out_path}' from its suffix; give --format "
                      f"({', '.join(OUTPUT_FORMATS)})")


def write_table(table: Table, out_path: Path | str, format: str | None = None) -> Path:
    """Write atomically (a temporary file moved into place), units and descriptions kept."""
    from toolkit.core import write_table as write_with_units

    out_path = Path(out_path)
    write_with_units(table, out_path, OUTPUT_FORMATS[_output_format(out_path, format)])
    return out_path


def match_table_file(table_path: str | Path, catalog_ref: str | Sequence[str], radius_arcsec: float = 2.0,
                     out_path: str | Path | None = None, *, format: str | None = None, ra_column: str | None = None,
                     dec_column: str | None = None, table_epoch: float | None = None,
                     pmra_column: str = "pmra", pmdec_column: str = "pmdec", seed: int = 0,
                     short_name: str | None = None, on_unavailable: str = "error", k: list | None = None,
                     console=None, ctx: RunContext | None = None, registry=None,
                     overwrite: bool = True) -> tuple[Table, dict]:
    """Match any table file (a run's candidates.parquet, a CSV, ...) against catalogue(s).

    Returns the table with ``match_<short>``/``match_<short>_sep`` columns and
    the statistics (the ``catalogs.match`` summary, plus ``table``, ``rows``,
    ``out``). Writes ``out_path`` atomically when given; prints a summary when
    a rich ``console`` is given. ``seed`` is the seed a simulated catalogue
    (``symbiotic.mock_known``) is built with: a run's own match uses the recipe's.
    """
    from pydantic import ValidationError

    from toolkit.core import read_table

    refs = [catalog_ref] if isinstance(catalog_ref, (str, Path)) else list(catalog_ref)
    if out_path is not None:
        _check_out_path(Path(out_path), [Path(table_path), *(Path(str(r)) for r in refs)], overwrite)
    if short_name and len(refs) > 1:
        raise RecipeError("short_name applies to a single catalogue; give one --catalog")
    steps = [catalog_step_for(str(r), registry, short_name) for r in refs]
    tab = read_table(Path(table_path))
    id_column = next((c for c in ID_COLUMNS if c in tab.colnames), None)  # a run's tables keep their ids
    table = Table.from_astropy(tab, id_column=id_column)
    if len(table) == 0:
        raise StageError(f"table '{table_path}' has no rows")
    problem = table.id_problems() if id_column else None
    if problem and console is not None:   # matching works row by row; only the listing by id is ambiguous
        console.print(f"[yellow]note[/yellow] id column '{escape(id_column)}' has {escape(problem)}; matches are "
                      "per row, but listed ids are ambiguous")
    params = {"catalogs": steps, "radius_arcsec": radius_arcsec, "ra_column": ra_column, "dec_column": dec_column,
              "table_epoch": table_epoch, "pmra_column": pmra_column, "pmdec_column": pmdec_column,
              "on_unavailable": on_unavailable, "figure": False}
    if k is not None:
        params["k"] = k
    try:
        validator = CatalogMatch(**params)
    except ValidationError as exc:
        options = {"radius_arcsec": "--radius", "table_epoch": "--epoch", "ra_column": "--ra", "dec_column": "--dec",
                   "pmra_column": "--pmra-column", "pmdec_column": "--pmdec-column"}
        raise RecipeError("; ".join(f"{options.get(str(e['loc'][0]), '.'.join(map(str, e['loc'])))}: {e['msg']}"
                                    + (f" (got {e['input']!r})" if "input" in e else "")
                                    for e in exc.errors())) from None
    ctx = ctx or RunContext(seed=seed, workdir=None, show_progress=False)
    if console is not None:
        for step in steps:
            if getattr(registry_entry_cls(step.use, registry), "simulated", False) or "mock" in step.use:
                console.print(f"[yellow]note[/yellow] {escape(step.use)} is simulated: it lists the stars of a mock "
                              f"built with seed {ctx.seed} and the catalogue's default parameters. It matches a "
                              "run only when that run's mock used the same seed and parameters (pass --seed; the "
                              "recipe's own match step does this for you).")
    ctx.step = "validators.match"
    result = validator.validate(table, ctx)
    matched = table.with_columns(result.columns)
    stats = {"table": str(table_path), "rows": len(matched), **result.summary}
    if out_path is not None:
        stats["out"] = str(write_table(matched, out_path, format))
    if console is not None:
        print_match_summary(matched, stats, console)
    return matched, stats


def print_match_summary(table: Table, stats: dict, console, max_rows: int = 15) -> None:
    """Rich summary: per catalogue, matched rows and separations, then the first matches."""
    from rich.table import Table as RichTable

    overview = RichTable(title=f"{stats.get('table', 'table')}: {stats.get('rows', len(table))} rows, "
                               f"radius {stats['radius_arcsec']:g} arcsec")
    for col in ("catalogue", "objects", "in area", "in table", "rows", "med sep\"", "max sep\""):
        if col == "catalogue":
            overview.add_column(col, justify="left", no_wrap=True, min_width=14)
        else:
            overview.add_column(col, justify="right")
    for short, s in stats["catalogs"].items():
        if s.get("skipped"):
            overview.add_row(short, "-", "-", "-", "skipped", "-", "-")
            continue
        sep = s["separation_arcsec"]
        overview.add_row(short, str(s["n_catalog"]), str(s["n_in_footprint"]), str(s["n_in_table"]),
                         str(s["n_rows_matched"]), "-" if sep["median"] is None else f"{sep['median']:.2f}",
                         "-" if sep["max"] is None else f"{sep['max']:.2f}")
    console.print(overview)
    for short, s in stats["catalogs"].items():
        if s.get("skipped"):
            console.print(f"[yellow]{escape(short)} skipped:[/yellow] {escape(one_line(s['reason']))}")
            continue
        hits = table.data[table.data[f"match_{short}"] != ""]
        if len(hits):
            t = RichTable(title=f"matches in {short} (first {min(max_rows, len(hits))} of {len(hits)})")
            t.add_column(table.id_column)
            t.add_column("known object")
            t.add_column("sep (\")", justify="right")
            for _, row in hits.head(max_rows).iterrows():
                t.add_row(str(row[table.id_column]), str(row[f"match_{short}"]), f"{row[f'match_{short}_sep']:.2f}")
            console.print(t)
        for col, sc in s.get("scores", {}).items():
            at_k = ", ".join(f"k={v['k']}: P={v['precision']}, R={v['recall']}" for v in sc["at_k"].values())
            console.print(f"  {short} in {col}: median rank {sc['median_rank']}, best {sc['best_rank']}; {at_k}")
    if "out" in stats:
        console.print(f"wrote {stats['out']}")
