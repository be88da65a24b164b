"""``catalogs.file``: any local table of known objects (CSV, FITS, VOTable, ECSV, Parquet)."""

from __future__ import annotations

from pathlib import Path

from toolkit.core import Catalog, Config, Field, StageError, Table, missing_path
from toolkit.core import RunContext
from toolkit.core import file_sha256, read_table

from .coordinates import ascii_line_numbers
from .known_table import known_object_table, short_name_of

ASCII_FORMATS = ("ascii", "csv", "ecsv", "tab", "basic")


def row_labeller(path: Path, tab, format: str | None):
    """Say "line N of FILE" for text tables (what an editor shows), "row N of FILE" otherwise."""
    name = Path(path).name.lower()
    is_text = (format and any(f in format for f in ASCII_FORMATS)) or name.endswith((".csv", ".ecsv", ".txt",
                                                                                        ".dat", ".tsv"))
    lines = ascii_line_numbers(path, len(tab)) if is_text else None
    if lines is not None:
        return lambda i: f"line {lines[i]} of {path}"
    return lambda i: f"row {i + 1} of {path}"


class FileCatalog(Catalog):
    name = "catalogs.file"
    aliases = ("catalog.file",)   # the former name, until the next release
    summary = "Known objects from a local table; name and RA/Dec columns detected or mapped, degrees or sexagesimal."
    citation = "(the file's own source: cite it)"

    class Config(Config):
        path: Path = Field(description="the table file (CSV, FITS, VOTable, ECSV, Parquet)")
        format: str | None = Field(None, description="astropy format name; guessed from the suffix when omitted")
        short_name: str | None = Field(None, description="used in the match columns (match_<short_name>); "
                                                         "the file name without suffix when omitted")
        name_column: str | None = Field(None, description="object name column; detected (Name, Star, ID, ...) "
                                                          "when omitted")
        ra_column: str | None = Field(None, description="RA column (degrees or sexagesimal hours); detected "
                                                        "(RA, ra, RAJ2000, RA(J2000), _RA, ...) when omitted")
        dec_column: str | None = Field(None, description="Dec column (degrees or sexagesimal); detected "
                                                         "(DEC, dec, DEJ2000, DEC(J2000), _DE, ...) when omitted")
        epoch: float | None = Field(2000.0, description="epoch (Julian year) of the positions, for proper-motion "
                                                        "propagation in catalogs.match; null when unknown")
        citation: str = Field("", description="reference to cite for this catalogue (shown in the summary)")

    @property
    def short_name(self) -> str:
        cfg = self.config
        return short_name_of(cfg.short_name or Path(cfg.path).name.split(".")[0])

    def load(self, ctx: RunContext) -> Table:
        cfg = self.config
        path = Path(cfg.path)
        if not path.is_file():
            raise StageError(f"{self.name}: {missing_path(path, 'catalogue file')} (a relative path in a recipe "
                             f"is relative to the recipe's folder)")
        tab = read_table(Path(path), cfg.format)
        return known_object_table(
            tab, short_name=self.short_name, where=f"catalogue file {path}", ra_column=cfg.ra_column,
            dec_column=cfg.dec_column, name_column=cfg.name_column, row_label=row_labeller(path, tab, cfg.format),
            meta={"catalog": self.name, "source": str(path), "citation": cfg.citation, "epoch": cfg.epoch,
                  "inputs": {str(path): ctx.record_input(path) if ctx is not None else file_sha256(path)}},
            ctx=ctx)
