"""HATS catalogues through LSDB: the lsdb.catalog source, lsdb.crossmatch, HATS output."""
