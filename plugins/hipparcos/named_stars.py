"""Common names of well-known Hipparcos stars, for labels in figures and candidate lists.

A short, curated cross-identification (HIP -> name) of nearby and high-velocity
stars that a Hipparcos kinematic search is expected to meet. Each entry was
checked against its I/311 record (position, parallax and proper motion agree
with the star's literature values). It names stars; it decides nothing: the
detectors never see it.
"""

from __future__ import annotations

import numpy as np

NAMED_STARS: dict[int, str] = {
    # the nearest stars and classic high-proper-motion red dwarfs
    70890: "Proxima Centauri",
    71683: "alpha Centauri A",
    71681: "alpha Centauri B",
    87937: "Barnard's star",
    54035: "Lalande 21185",
    32349: "Sirius",
    37279: "Procyon",
    104214: "61 Cygni A",
    104217: "61 Cygni B",
    19849: "40 Eridani A",
    1475: "Groombridge 34 A",
    114046: "Lacaille 9352",
    36208: "Luyten's star",
    80824: "Wolf 1061",
    113020: "Gliese 876",
    86162: "Gliese 687",
    85523: "Gliese 674",
    54211: "Lalande 21258 (GJ 412 A)",
    49908: "Groombridge 1618",
    439: "Gliese 1",
    # halo / thick-disc stars with large space velocities
    24186: "Kapteyn's star (halo)",
    57939: "Groombridge 1830 (halo)",
    74234: "HD 134439 (halo)",
    74235: "HD 134440 (halo)",
    76976: "HD 140283 (halo)",
    48152: "HD 84937 (halo)",
    14594: "HD 19445 (halo)",
    18915: "HD 25329 (halo)",
    21609: "HD 29907",
    # white dwarfs bright enough for Hipparcos
    3829: "van Maanen 2 (white dwarf)",
    57367: "LP 145-141 (white dwarf)",
}


def star_names(hip_numbers) -> list[str]:
    """The common name of each HIP number, or '' when it is not in the list."""
    return [NAMED_STARS.get(int(h), "") if np.isfinite(h) else "" for h in np.asarray(hip_numbers, float)]
