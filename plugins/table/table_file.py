"""``table.file``: any local FITS, VOTable, CSV, ECSV or Parquet table; Parquet datasets, globs and FITS stream."""

from __future__ import annotations

from pathlib import Path

from toolkit.core import Config, Field, Source, StageError, Table, rechunk
from toolkit.core import RunContext
from toolkit.core import TableChunks, read_table


class TableFile(Source):
    name = "table.file"
    summary = "A local FITS, VOTable, CSV, ECSV or Parquet table, units kept, columns optionally renamed."

    class Config(Config):
        path: Path = Field(description="file to read; for streamed runs also a folder of Parquet files or a glob "
                           "such as data/part-*.parquet")
        format: str | None = Field(None, description="astropy format name; guessed from the suffix when omitted")
        rename: dict[str, str] = Field(default_factory=dict, description="old column name -> new name")
        units: dict[str, str] = Field(default_factory=dict,
                                      description="unit for columns the file leaves without one (e.g. CSV)")
        id_column: str | None = Field(None, description="stable id column (e.g. source_id); row_id when omitted")
        mock: bool = Field(False, description="set when the file holds simulated stars")

    def iter_chunks(self, ctx: RunContext, chunk_rows: int):
        """Parquet files and datasets by record batches, FITS by row ranges of a memory map, globs file by file."""
        cfg = self.config
        chunks = TableChunks(cfg.path, chunk_rows, cfg.format)
        self._check_columns(chunks.columns)
        inputs = {str(p): ctx.record_input(p) for p in chunks.paths if p.is_file()}
        file_id = {new: old for old, new in cfg.rename.items()}.get(cfg.id_column, cfg.id_column)
        for table in rechunk(chunks.tables(file_id), chunk_rows):
            if cfg.rename:
                table.data = table.data.rename(columns=cfg.rename)
                table.info = {cfg.rename.get(k, k): v for k, v in table.info.items()}
                table.id_column = cfg.rename.get(table.id_column, table.id_column)
            for col, unit in cfg.units.items():
                table.info[col].unit = unit
            table.meta.update(mock=cfg.mock, inputs=inputs)
            yield table

    def _check_columns(self, names: list[str]) -> None:
        cfg = self.config
        missing = [c for c in cfg.rename if c not in names]
        if missing:
            raise StageError(f"{cfg.path}: cannot rename missing column(s) {missing}; the file has {', '.join(names)}")
        renamed = [cfg.rename.get(c, c) for c in names]
        for col in cfg.units:
            if col not in renamed:
                raise StageError(f"{cfg.path}: `units` names column '{col}', which the file does not have")
        if cfg.id_column and cfg.id_column not in renamed:
            raise StageError(f"{cfg.path}: id column '{cfg.id_column}' not found; the file has {', '.join(names)}")

    def load(self, ctx: RunContext) -> Table:
        cfg = self.config
        tab = read_table(cfg.path, cfg.format)
        self._check_columns(tab.colnames)
        if cfg.rename:
            tab.rename_columns(list(cfg.rename), list(cfg.rename.values()))
        for col, unit in cfg.units.items():
            tab[col].unit = unit
        return Table.from_astropy(tab, id_column=cfg.id_column,
                                  meta={"mock": cfg.mock, "inputs": {str(cfg.path): ctx.record_input(cfg.path)}})
