"""The `toolkit` command line."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import List, Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table as RichTable
from typer.core import TyperCommand, TyperGroup

from .errors import ToolkitError


class _GuardedGroup(TyperGroup):
    """No command ends in a Python traceback: a ToolkitError exits 2 with its message, Ctrl-C and
    SIGTERM exit 130, anything else is reported as an internal error (TOOLKIT_DEBUG=1 re-raises it)."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except ToolkitError as exc:
            _fail(exc)
        except KeyboardInterrupt as exc:
            err.print(f"[bold red]interrupted[/bold red]{escape(f' ({exc})') if str(exc) else ''}; "
                      "nothing was published")
            raise typer.Exit(130) from None
        except Exception as exc:  # noqa: BLE001 - the last guard: a message, never a traceback
            if os.environ.get("TOOLKIT_DEBUG") or type(exc).__module__.split(".")[0] in ("typer", "click"):
                raise   # usage errors and exits of the command-line library itself
            err.print("[bold red]internal error:[/bold red] ", end="")
            err.print(f"{type(exc).__name__}: {exc}\nThis is a bug in toolkit or one of its plugins; "
                      "set TOOLKIT_DEBUG=1 to see the traceback and please report it.", markup=False,
                      highlight=False)
            raise typer.Exit(1) from None


class _MultiValueCommand(TyperCommand):
    """`--format fits votable csv` and `--set a=1 b=2`: several values after one option, as the
    README writes them (each is expanded to a repeated option before parsing)."""

    def parse_args(self, ctx, args):
        return super().parse_args(ctx, expand_multi_values(args))


def _is_format(value: str) -> bool:
    from .runfolder import CANDIDATE_FORMATS

    return all(v in CANDIDATE_FORMATS for v in value.split(",") if v)


#: options that take several values, and what a further value looks like
MULTI_VALUE_OPTIONS = {"--format": _is_format, "--set": lambda v: "=" in v and not v.startswith("-")}


def expand_multi_values(args: list[str]) -> list[str]:
    """``--set a=1 b=2`` -> ``--set a=1 --set b=2`` (likewise --format); other arguments unchanged."""
    out, i = [], 0
    while i < len(args):
        arg = args[i]
        out.append(arg)
        i += 1
        if arg == "--":
            out += args[i:]
            break
        if arg in MULTI_VALUE_OPTIONS and i < len(args):
            out.append(args[i])
            i += 1
            while i < len(args) and MULTI_VALUE_OPTIONS[arg](args[i]):
                out += [arg, args[i]]
                i += 1
    return out


app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False, cls=_GuardedGroup,
                  help="Find unusual stars in survey catalogues and check whether they are real physics.")
plugins_app = typer.Typer(help="List installed components, or show one's parameters.")
app.add_typer(plugins_app, name="plugins")
out = Console()
err = Console(stderr=True)


def _fail(exc: Exception) -> None:
    err.print("[bold red]error:[/bold red] ", end="")
    err.print(str(exc), markup=False, highlight=False, soft_wrap=True)   # paths stay whole for copy and paste
    raise typer.Exit(2)


@app.command(cls=_MultiValueCommand)
def run(recipe: str = typer.Argument(..., help="recipe file, or the name of a built-in recipe"),
        out_dir: Optional[Path] = typer.Option(None, "--out", help="run folder (default: runs/<recipe>-<time>)"),
        set_: List[str] = typer.Option([], "--set", help="override, e.g. detectors.0.with.epochs=5 (YAML value)"),
        seed: Optional[int] = typer.Option(None, "--seed", help="override the recipe's seed"),
        force: bool = typer.Option(False, "--force", help="replace an existing run folder (after success)"),
        format_: List[str] = typer.Option([], "--format",
                                          help="also write candidates as fits, votable, csv or ecsv "
                                               "(several: --format fits votable csv)"),
        executor: Optional[str] = typer.Option(None, "--executor",
                                               help="memory (default), stream (tables larger than memory) or "
                                                    "dask (partitions on a dask cluster)"),
        chunk_rows: Optional[int] = typer.Option(None, "--chunk-rows", help="rows per chunk when streaming"),
        workers: Optional[int] = typer.Option(None, "--workers", help="dask: worker processes of the local cluster"),
        memory_per_worker: Optional[str] = typer.Option(None, "--memory-per-worker",
                                                        help="dask: memory limit per local worker, e.g. 2GB"),
        scheduler: Optional[str] = typer.Option(None, "--scheduler",
                                                help="dask: address of an existing scheduler, e.g. tcp://host:8786")):
    """Run a recipe and write a run folder."""
    from .run import execute
    from .runfolder import CANDIDATE_FORMATS

    # the dask options are recipe settings (executor.*): written into the resolved recipe like any --set
    for key, value in (("workers", workers), ("memory_per_worker", memory_per_worker), ("scheduler", scheduler)):
        if value is not None:
            set_ = [*set_, f"executor.{key}={json.dumps(value)}"]

    format_ = [f for value in format_ for f in value.split(",") if f]
    bad = [f for f in format_ if f not in CANDIDATE_FORMATS]
    if bad:
        _fail(ToolkitError(f"--format {bad[0]!r}: choose fits, votable, csv or ecsv"))
    _terminate_as_interrupt()
    try:
        path, manifest = execute(recipe, out_dir, set_, seed, force, format_, console=err, executor=executor,
                                 chunk_rows=chunk_rows)
    except ToolkitError as exc:
        _fail(exc)
    rows = manifest["rows"]
    err.print(f"[green]done[/green] {rows['source']} rows -> {rows['after_cuts']} after cuts -> "
              f"{rows['candidates']} candidates in {manifest['timings_s']['total']:.1f} s")
    if manifest.get("mock"):
        err.print(f"[bold red]MOCK DATA[/bold red]: {manifest['data_warning']}")
    normal = manifest.get("source", {}).get("truth_normal", [])
    for det, pops in (manifest.get("truth_recovery") or {}).items():
        parts = [f"{p}: {_auc_text(r['roc_auc'])}, recall {r['recall']}" for p, r in pops.items() if p not in normal]
        err.print(f"  truth recovery {escape(f'[{det}]')} " + escape("; ".join(parts)))
    if manifest.get("truth_recovery"):
        err.print("  [dim](AUC: chance that a labelled star scores higher, i.e. more anomalous, than another row; "
                  "0.5 = no better than chance; details in manifest.json and report.html)[/dim]")
    out.print(str(path), markup=False, highlight=False, soft_wrap=True)   # one line, as typed: scripts read it


def _auc_text(auc) -> str:
    """ROC AUC for the terminal; one far below 0.5 is explained (the population scores *lower* than
    the rest: a moving group that a mixture fits as its own component is the likeliest, not the rarest)."""
    if auc is None:
        return "AUC n/a"
    if auc < 0.5:
        return f"AUC {auc} (scores lower than the rest: ranked as typical, 1 - AUC = {1 - auc:.4f})"
    return f"AUC {auc}"


def _terminate_as_interrupt() -> None:
    """SIGTERM (kill, a batch system) ends a run like Ctrl-C: its staging folder is removed."""
    import signal
    import threading

    if threading.current_thread() is threading.main_thread():
        def handler(signum, frame):
            raise KeyboardInterrupt(f"signal {signal.Signals(signum).name}")
        signal.signal(signal.SIGTERM, handler)


@app.command(cls=_MultiValueCommand)
def check(recipe: str = typer.Argument(..., help="recipe file or built-in name"),
          set_: List[str] = typer.Option([], "--set", help="override, as for `toolkit run`")):
    """Validate a recipe completely without running it."""
    from .recipe import load_recipe
    from .registry import get_registry

    try:
        r = load_recipe(recipe, get_registry(), set_)
    except ToolkitError as exc:
        _fail(exc)
    n = sum(len(v) for v in r.steps.values())
    out.print(f"[green]ok[/green] recipe '{r.name}': source {r.source.component.name}"
              + (f" (fallback {r.source.fallback.component.name})" if r.source.fallback else "")
              + f", {n} steps")


@plugins_app.callback(invoke_without_command=True)
def plugins(ctx: typer.Context, as_json: bool = typer.Option(False, "--json", help="machine-readable list")):
    """List every registered component: name, kind, plugin, summary."""
    if ctx.invoked_subcommand:
        return
    from .registry import get_registry

    try:
        entries = get_registry().all()
    except ToolkitError as exc:
        _fail(exc)
    if as_json:
        out.print_json(json.dumps([{"name": e.name, "kind": e.kind, "plugin": e.plugin, "summary": e.cls.summary}
                                   for e in entries]))
        return
    t = RichTable()
    for col in ("name", "kind", "plugin", "summary"):
        t.add_column(col, overflow="fold")   # wrap long names and summaries; never cut them
    for e in entries:
        t.add_row(e.name, e.kind, e.plugin, e.cls.summary)
    out.print(t)


@plugins_app.command("show")
def plugins_show(name: str = typer.Argument(..., help="component name, e.g. detect.autoencoder")):
    """Show a component's parameters with types, defaults and docs."""
    from .registry import get_registry

    try:
        entry = get_registry().get(name)
    except ToolkitError as exc:
        _fail(exc)
    cls = entry.cls
    out.print(f"[bold]{cls.name}[/bold] ({entry.kind}, plugin {entry.plugin})\n{cls.summary}")
    doc = (sys.modules[cls.__module__].__doc__ or "").strip()
    if doc:
        out.print(doc.splitlines()[0], markup=False)
    if getattr(cls, "citation", ""):
        out.print(f"Citation: {cls.citation}", markup=False)
    t = RichTable()
    for col in ("parameter", "type", "default", "description"):
        t.add_column(col, overflow="fold")
    for field_name, f in cls.Config.model_fields.items():
        default = "(required)" if f.is_required() else repr(f.get_default(call_default_factory=True))
        t.add_row(field_name, _type_name(f.annotation), default, f.description or "")
    out.print(t)


def _type_name(annotation) -> str:
    text = getattr(annotation, "__name__", None) if getattr(annotation, "__args__", None) is None else None
    return text or str(annotation).replace("typing.", "")


@app.command()
def recipes():
    """List the built-in recipes (run one with `toolkit run NAME`)."""
    import yaml

    from .recipe import builtin_recipes

    t = RichTable()
    t.add_column("name", overflow="fold", no_wrap=False)
    t.add_column("description", overflow="fold")   # wrapped, never cut
    for name, path in sorted(builtin_recipes().items()):
        try:
            desc = (yaml.safe_load(path.read_text()) or {}).get("description", "")
        except (OSError, yaml.YAMLError, AttributeError):
            desc = "(unreadable)"
        t.add_row(name, " ".join(str(desc).split()))
    out.print(t)


@app.command()
def score(model_dir: Path = typer.Argument(..., help="a run's models/<step> folder"),
          table: Path = typer.Argument(..., help="table to score (Parquet, FITS, VOTable, CSV, ECSV)"),
          out_dir: Path = typer.Option(..., "--out", help="folder for scored.parquet and flagged.parquet"),
          threshold: Optional[str] = typer.Option(None, "--threshold",
                                                  help="METHOD:VALUE, e.g. top_fraction:0.02 (default: the run's cut)"),
          name: Optional[str] = typer.Option(None, "--name", help="step name for score_<name>/flag_<name>"),
          id_column: Optional[str] = typer.Option(None, "--id-column", help="stable id column of the table"),
          chunk_rows: int = typer.Option(65536, "--chunk-rows", help="rows scored at a time"),
          force: bool = typer.Option(False, "--force", help="replace earlier results in --out"),
          trust_pickle: bool = typer.Option(False, "--trust-pickle",
                                            help="allow pickled model files (they run code: only your own models)")):
    """Score a table with a detector saved in a run folder (a run's own table gives back its scores)."""
    from toolkit.plugins.detectors.saved import parse_threshold_option, score_saved_model

    try:
        summary = score_saved_model(model_dir, table, out_dir, threshold=parse_threshold_option(threshold),
                                    name=name, id_column=id_column, chunk_rows=chunk_rows, force=force,
                                    trust_pickle=trust_pickle)
    except ToolkitError as exc:
        _fail(exc)
    err.print(f"[green]done[/green] {summary['rows']} rows, {summary['scored']} scored, {summary['flagged']} flagged")
    out.print(str(out_dir))


@app.command()
def match(table: Path = typer.Argument(..., help="any table with sky positions, e.g. a run's candidates.parquet"),
          catalog: List[str] = typer.Option(..., "--catalog", help="a catalogue component name or a table file"),
          radius: float = typer.Option(2.0, "--radius", help="match radius in arcsec"),
          out_file: Optional[Path] = typer.Option(None, "--out", help="write the matched table here"),
          ra_column: Optional[str] = typer.Option(None, "--ra", help="RA column (detected when omitted)"),
          dec_column: Optional[str] = typer.Option(None, "--dec", help="Dec column (detected when omitted)"),
          format_: Optional[str] = typer.Option(None, "--format", help="csv|fits|votable|parquet (default: from --out)"),
          epoch: Optional[float] = typer.Option(None, "--epoch",
                                                help="epoch of the table positions (e.g. 2016.0); needs proper "
                                                     "motions (--pmra-column, --pmdec-column)"),
          pmra_column: str = typer.Option("pmra", "--pmra-column", help="mu_alpha* column (mas/yr), with --epoch"),
          pmdec_column: str = typer.Option("pmdec", "--pmdec-column", help="mu_delta column (mas/yr), with --epoch"),
          seed: int = typer.Option(0, "--seed", help="seed of a simulated catalogue (e.g. symbiotic.mock_known: "
                                                     "use the run's seed)"),
          force: bool = typer.Option(False, "--force", help="replace an existing --out file")):
    """Cross-match a table with known-object catalogues."""
    from toolkit.catalogs.match import match_table_file

    try:
        match_table_file(table, catalog, radius, out_file, format=format_, ra_column=ra_column, dec_column=dec_column,
                         table_epoch=epoch, pmra_column=pmra_column, pmdec_column=pmdec_column, seed=seed,
                         console=out, overwrite=force)
    except ToolkitError as exc:
        _fail(exc)


_commands_registered = False


def register_plugin_commands() -> None:
    """Let plugins add commands through ``toolkit_register_commands(cli)``, once (a broken plugin: exit 2)."""
    global _commands_registered
    if _commands_registered:
        return
    from .registry import get_registry

    try:
        get_registry().pm.hook.toolkit_register_commands(cli=app)
    except ToolkitError as exc:
        err.print("[bold red]error:[/bold red] ", end="")
        err.print(str(exc), markup=False, highlight=False)
        sys.exit(2)
    _commands_registered = True


def main() -> None:
    register_plugin_commands()
    app()


if __name__ == "__main__":
    main()
