"""``toolkit match TABLE --catalog NAME``: cross-match any table with known-object catalogues.

Contributed through ``toolkit_register_commands`` (the core imports no catalogue module); a
ToolkitError raised here is printed by the CLI as one message with exit status 2."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer
from rich.console import Console

out = Console()


def add_match_command(cli: typer.Typer) -> None:
    @cli.command()
    def match(table: Path = typer.Argument(..., help="any table with sky positions, e.g. a run's candidates.parquet"),
              catalog: List[str] = typer.Option(..., "--catalog", help="a catalogue component name or a table file"),
              radius: float = typer.Option(2.0, "--radius", help="match radius in arcsec"),
              out_file: Optional[Path] = typer.Option(None, "--out", help="write the matched table here"),
              ra_column: Optional[str] = typer.Option(None, "--ra", help="RA column (detected when omitted)"),
              dec_column: Optional[str] = typer.Option(None, "--dec", help="Dec column (detected when omitted)"),
              format_: Optional[str] = typer.Option(None, "--format",
                                                    help="csv|fits|votable|parquet (default: from --out)"),
              epoch: Optional[float] = typer.Option(None, "--epoch",
                                                    help="epoch of the table positions (e.g. 2016.0); needs proper "
                                                         "motions (--pmra-column, --pmdec-column)"),
              pmra_column: str = typer.Option("pmra", "--pmra-column", help="mu_alpha* column (mas/yr), with --epoch"),
              pmdec_column: str = typer.Option("pmdec", "--pmdec-column",
                                               help="mu_delta column (mas/yr), with --epoch"),
              seed: int = typer.Option(0, "--seed", help="seed of a simulated catalogue (e.g. symbiotic.mock_known: "
                                                         "use the run's seed)"),
              force: bool = typer.Option(False, "--force", help="replace an existing --out file")):
        """Cross-match a table with known-object catalogues."""
        from .match import match_table_file

        match_table_file(table, catalog, radius, out_file, format=format_, ra_column=ra_column, dec_column=dec_column,
                         table_epoch=epoch, pmra_column=pmra_column, pmdec_column=pmdec_column, seed=seed,
                         console=out, overwrite=force)
