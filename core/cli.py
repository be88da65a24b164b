"""The `toolkit` command line."""

from __future__ import annotations

import json
import os
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import List, Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table as RichTable
from rich.text import Text
from typer.core import TyperCommand, TyperGroup

from .errors import TRACEBACK_ENV, ToolkitError, raised_at


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
            _print_traceback(exc)
            err.print("[bold red]internal error:[/bold red] ", end="")
            err.print(f"{type(exc).__name__}: {exc} (at {raised_at(exc)})\nThis is a bug in toolkit or one of its "
                      f"plugins; run with --traceback (or {TRACEBACK_ENV}=1) to see the traceback and please "
                      "report it.", markup=False, highlight=False)
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


@app.callback()
def _root(traceback_: bool = typer.Option(False, "--traceback",
                                          help=f"show the full traceback of a failure, e.g. a plugin crash "
                                               f"(also {TRACEBACK_ENV}=1)")):
    """Find unusual stars in survey catalogues and check whether they are real physics."""
    global _traceback_flag
    _traceback_flag = traceback_   # set on every invocation, read by _fail


@contextmanager
def _deprecations():
    """Print each deprecation (a component's former name) once, as one line on stderr."""
    import warnings

    from .errors import DeprecatedName

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", DeprecatedName)
        try:
            yield
        finally:
            seen = []
            for w in caught:
                if issubclass(w.category, DeprecatedName) and str(w.message) not in seen:
                    seen.append(str(w.message))
                elif not issubclass(w.category, DeprecatedName):
                    warnings.showwarning(w.message, w.category, w.filename, w.lineno)
            for text in seen:
                err.print("[yellow]deprecated:[/yellow] ", end="")
                err.print(text, markup=False, highlight=False, soft_wrap=True)


_traceback_flag = False


def _wants_traceback() -> bool:
    return _traceback_flag or os.environ.get(TRACEBACK_ENV, "").strip().lower() not in ("", "0", "false", "no")


def _print_traceback(exc: BaseException) -> None:
    """With --traceback or TOOLKIT_TRACEBACK=1: the full traceback (a plugin crash's own frames
    included, through the exception chain) before the one-line message."""
    if not _wants_traceback():
        return
    import traceback

    err.print("".join(traceback.format_exception(type(exc), exc, exc.__traceback__)).rstrip(), markup=False,
              highlight=False, soft_wrap=True)


def _fail(exc: Exception) -> None:
    _print_traceback(exc)
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
        with _deprecations():
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
        with _deprecations():
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
def plugins_show(name: str = typer.Argument(..., help="component name, e.g. detectors.autoencoder")):
    """Show a component's parameters with types, defaults and docs."""
    from .registry import get_registry

    try:
        with _deprecations():
            entry = get_registry().get(name)
    except ToolkitError as exc:
        _fail(exc)
    cls = entry.cls
    out.print(f"[bold]{escape(cls.name)}[/bold] ({entry.kind}, plugin {escape(entry.plugin)})\n{escape(cls.summary)}")
    import inspect

    doc = inspect.getdoc(cls) if vars(cls).get("__doc__") else ""   # the class's own, not a base's
    if not doc:   # else the first line of its module's (which may describe several components)
        doc = ((sys.modules[cls.__module__].__doc__ or "").strip().splitlines() or [""])[0]
    if doc:   # paragraphs re-flowed to the terminal's width
        out.print("\n\n".join(" ".join(par.split()) for par in doc.split("\n\n")), markup=False, highlight=False)
    if cls.aliases:
        out.print(f"Former names (deprecated): {', '.join(cls.aliases)}", markup=False, highlight=False)
    if getattr(cls, "citation", ""):
        out.print(f"Citation: {cls.citation}", markup=False)
    t = RichTable()
    for col in ("parameter", "type", "default", "description"):
        t.add_column(col, overflow="fold")
    for field_name, f in cls.Config.model_fields.items():
        default = "(required)" if f.is_required() else repr(f.get_default(call_default_factory=True))
        t.add_row(*(Text(v) for v in (field_name, _type_name(f.annotation), default, f.description or "")))
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


@app.command("new-plugin")
def new_plugin(name: str = typer.Argument(..., help="plugin name, e.g. rave or my-survey (components: NAME.*)"),
               directory: Path = typer.Option(Path("."), "--dir", help="folder to write toolkit-NAME/ into")):
    """Write a plugin package: one component of each kind, a recipe, tests using the contract checks."""
    from .scaffold import write_plugin

    try:
        target = write_plugin(name, directory)
    except ToolkitError as exc:
        _fail(exc)
    err.print(f"[green]wrote[/green] {escape(str(target))}: a source, cut, feature, detector, validator and "
              "catalogue, a recipe and tests. Next:")
    err.print(f"  cd {escape(str(target))} && pip install -e '.[test]' && pytest", markup=False, highlight=False)
    out.print(str(target), markup=False, highlight=False, soft_wrap=True)


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
