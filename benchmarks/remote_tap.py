"""What the TAP cache buys: first query (service + VOTable parse) against a cache hit.

Runs the real client (core.remote.tap_query, pyvo) against the local fake TAP
service of the tests, with a Gaia-like table of N rows, and times:
the first sync query, the first async query (UWS flow), and a cache hit; then
the cache formats themselves (astropy VOTable vs FITS write/read).

    python benchmarks/remote_tap.py [N]      # default 20000 rows
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from astropy.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))


def gaia_like(n: int) -> Table:
    rng = np.random.default_rng(0)
    t = Table({"source_id": rng.integers(1, 2**62, n)})
    for name, unit in [("ra", "deg"), ("dec", "deg"), ("parallax", "mas"), ("pmra", "mas / yr"),
                       ("pmdec", "mas / yr"), ("radial_velocity", "km / s"), ("phot_g_mean_mag", "mag"),
                       ("phot_bp_mean_mag", "mag"), ("phot_rp_mean_mag", "mag")]:
        t[name] = rng.normal(size=n)
        t[name].unit = unit
    return t


def timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def main(n: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["TOOLKIT_CACHE"] = tmp
        from fake_tap import FakeTap

        from toolkit.core.remote import tap_query

        table = gaia_like(n)
        body = Path(tmp) / "response.vot"
        table.write(body, format="votable", tabledata_format="binary2")   # what the Gaia archive sends
        tap = FakeTap().start()
        tap.respond(None, body)
        q = f"SELECT TOP {n} * FROM gaiadr3.gaia_source"
        try:
            _, t_sync = timed(lambda: tap_query(tap.url, q, label="bench", cache=False))
            _, t_async = timed(lambda: tap_query(tap.url, q, label="bench", async_=True, cache=False))
            _, t_first = timed(lambda: tap_query(tap.url, q, label="bench"))
            hit, t_hit = timed(lambda: tap_query(tap.url, q, label="bench"))
        finally:
            tap.close()
        assert hit.meta["tap_from_cache"] and len(hit) == n
        print(f"rows: {n}")
        print(f"first query, sync  (HTTP + pyvo VOTable parse): {t_sync:6.2f} s")
        print(f"first query, async (UWS job flow):              {t_async:6.2f} s")
        print(f"first query + cache write (FITS):               {t_first:6.2f} s")
        print(f"cache hit (FITS read, no request):              {t_hit:6.2f} s")
        for fmt, suffix in [("votable", ".vot"), ("fits", ".fits")]:
            path = Path(tmp) / f"cache_format{suffix}"
            _, w = timed(lambda: table.write(path, format=fmt, overwrite=True))
            _, r = timed(lambda: Table.read(path, format=fmt))
            print(f"cache format {fmt:8s}: write {w:6.2f} s, read {r:6.2f} s, {path.stat().st_size / 1e6:5.1f} MB")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 20000)
