"""Local table files as a source: ``table.file`` (Parquet, FITS, VOTable, CSV, ECSV), for any survey."""
