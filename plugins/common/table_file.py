"""``table.file``: any local FITS, VOTable, CSV, ECSV or Parquet table."""

from __future__ import annotations

from pathlib import Path

from toolkit.core import Config, Field, Source, StageError, Table
from toolkit.core.io import file_sha256, read_table


class TableFile(Source):
    name = "table.file"
    summary = "A local FITS, VOTable, CSV, ECSV or Parquet table, units kept, columns optionally renamed."

    class Config(Config):
        path: Path = Field(description="file to read")
        format: str | None = Field(None, description="astropy format name; guessed from the suffix when omitted")
        rename: dict[str, str] = Field(default_factory=dict, description="old column name -> new name")
        units: dict[str, str] = Field(default_factory=dict,
                                      description="unit for columns the file leaves without one (e.g. CSV)")
        id_column: str | None = Field(None, description="stable id column (e.g. source_id); row_id when omitted")
        mock: bool = Field(False, description="set when the file holds simulated stars")

    def load(self, ctx) -> Table:
        cfg = self.config
        tab = read_table(cfg.path, cfg.format)
        missing = [c for c in cfg.rename if c not in tab.colnames]
        if missing:
            raise StageError(f"{cfg.path}: cannot rename missing column(s) {missing}; "
                             f"the file has {', '.join(tab.colnames)}")
        if cfg.rename:
            tab.rename_columns(list(cfg.rename), list(cfg.rename.values()))
        for col, unit in cfg.units.items():
            if col not in tab.colnames:
                raise StageError(f"{cfg.path}: `units` names column '{col}', which the file does not have")
            tab[col].unit = unit
        id_col = cfg.id_column
        if id_col and id_col not in tab.colnames:
            raise StageError(f"{cfg.path}: id column '{id_col}' not found; the file has {', '.join(tab.colnames)}")
        table = Table.from_astropy(tab, id_column=id_col,
                                   meta={"mock": cfg.mock, "inputs": {str(cfg.path): file_sha256(cfg.path)}})
        return table
