"""``toolkit score MODEL_DIR TABLE``: score a table with a detector saved in a run folder.

Contributed through ``toolkit_register_commands`` (the core imports no plugin); a ToolkitError
raised here is printed by the CLI as one message with exit status 2."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.console import Console

out = Console()
err = Console(stderr=True)


def add_score_command(cli: typer.Typer) -> None:
    @cli.command()
    def score(model_dir: Path = typer.Argument(..., help="a run's models/<step> folder"),
              table: Path = typer.Argument(..., help="table to score (Parquet, FITS, VOTable, CSV, ECSV)"),
              out_dir: Path = typer.Option(..., "--out", help="folder for scored.parquet and flagged.parquet"),
              threshold: Optional[str] = typer.Option(None, "--threshold",
                                                      help="METHOD:VALUE, e.g. top_fraction:0.02 (default: the run's "
                                                           "cut)"),
              name: Optional[str] = typer.Option(None, "--name", help="step name for score_<name>/flag_<name>"),
              id_column: Optional[str] = typer.Option(None, "--id-column", help="stable id column of the table"),
              chunk_rows: int = typer.Option(65536, "--chunk-rows", help="rows scored at a time"),
              force: bool = typer.Option(False, "--force", help="replace earlier results in --out"),
              trust_pickle: bool = typer.Option(False, "--trust-pickle",
                                                help="allow pickled model files (they run code: only your own "
                                                     "models)")):
        """Score a table with a detector saved in a run folder (a run's own table gives back its scores)."""
        from .saved import parse_threshold_option, score_saved_model

        summary = score_saved_model(model_dir, table, out_dir, threshold=parse_threshold_option(threshold),
                                    name=name, id_column=id_column, chunk_rows=chunk_rows, force=force,
                                    trust_pickle=trust_pickle)
        err.print(f"[green]done[/green] {summary['rows']} rows, {summary['scored']} scored, "
                  f"{summary['flagged']} flagged")
        out.print(str(out_dir), markup=False, highlight=False, soft_wrap=True)
