"""How fast hipparcos.hip2 reads the full I/311 catalogue (117,955 records, 32.7 MB).

Run: python benchmarks/hipparcos.py [repeats]
Prints the best and median wall time of: the fixed-width parse alone, the whole
source (parse + table + sha256 of the file), and the weight-matrix feature.
"""

from __future__ import annotations

import statistics
import sys
import time

from toolkit.core import RunContext
from toolkit.plugins.hipparcos.reader import read_hip2
from toolkit.plugins.hipparcos.source import Hip2Source, bundled_catalogue
from toolkit.plugins.hipparcos.weight_matrix import AstrometricCovariance


def timed(fn, repeats):
    times, result = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return result, min(times), statistics.median(times)


def main(repeats: int = 5) -> None:
    path = bundled_catalogue()
    ctx = RunContext(seed=0, show_progress=False)
    ctx.info = lambda message: None
    columns, best, median = timed(lambda: read_hip2(path), repeats)
    n = len(columns["HIP"])
    print(f"file: {path} ({path.stat().st_size / 1e6:.1f} MB, {n} records)")
    print(f"parse (numpy fixed-width)     best {best:6.3f} s  median {median:6.3f} s  "
          f"({n / best / 1e3:.0f}k rows/s)")
    table, best, median = timed(lambda: Hip2Source().load(ctx), repeats)
    print(f"hipparcos.hip2 load (+sha256) best {best:6.3f} s  median {median:6.3f} s")
    _, best, median = timed(lambda: AstrometricCovariance().compute(table, ctx), repeats)
    print(f"astrometric_covariance        best {best:6.3f} s  median {median:6.3f} s")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5)
