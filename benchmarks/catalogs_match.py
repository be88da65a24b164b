"""How long catalogs.match takes: rows x catalogue size, per-row match and the recall statistics.

Run: python benchmarks/catalogs_match.py  (prints a table; uses the fink catalogue when present)
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from toolkit.catalogs.crossmatch import match_rows, recall_statistics

FINK = Path(__file__).resolve().parents[2] / "shared" / "data" / "symbiotic_stars_catalog_fink.csv"


def catalogue(n: int, rng):
    if n == 738 and FINK.is_file():
        from toolkit.catalogs.local_file import FileCatalog
        from toolkit.core import RunContext

        t = FileCatalog(path=FINK).load(RunContext(show_progress=False))
        return t.data["name"].to_numpy(), t.array("ra"), t.array("dec")
    ra, dec = rng.uniform(0, 360, n), np.degrees(np.arcsin(rng.uniform(-1, 1, n)))
    return np.array([f"k{i}" for i in range(n)]), ra, dec


def main() -> None:
    rng = np.random.default_rng(0)
    print(f"{'rows':>9} {'catalogue':>9} {'match s':>8} {'stats s':>8} {'matched':>8}")
    for n_cat in (738, 100_000):
        names, cra, cdec = catalogue(n_cat, rng)
        for n_rows in (10_000, 100_000, 1_000_000):
            ra, dec = rng.uniform(0, 360, n_rows), np.degrees(np.arcsin(rng.uniform(-1, 1, n_rows)))
            k = min(len(cra), n_rows // 10)  # plant some known objects 0.5" away
            ra[:k], dec[:k] = cra[:k], np.clip(cdec[:k] + 0.5 / 3600, -90, 90)
            t0 = time.perf_counter()
            idx, _ = match_rows(ra, dec, cra, cdec, 2.0)
            t1 = time.perf_counter()
            score = rng.normal(size=n_rows)
            recall_statistics(ra=ra, dec=dec, cat_names=names, cat_ra=cra, cat_dec=cdec, row_cat_index=idx,
                              radius_arcsec=2.0, footprint_radius_arcmin=30.0, scores={"score_x": score},
                              flags={"flag_x": score > 2}, ks=[10, 100, "n_flagged"],
                              row_ids=np.arange(n_rows))
            t2 = time.perf_counter()
            print(f"{n_rows:>9} {n_cat:>9} {t1 - t0:>8.2f} {t2 - t1:>8.2f} {int((idx >= 0).sum()):>8}")


if __name__ == "__main__":
    main()
