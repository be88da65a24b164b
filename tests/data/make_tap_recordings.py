"""Write the small VOTables the TAP tests serve from the fake service (tests/fake_tap.py).

They stand in for recorded archive responses: the column names, units, UCDs and
value ranges are those of the real services (Gaia DR3 gaia_source, Bailer-Jones
et al. 2021 external.gaiaedr3_distance and 2018 external.gaiadr2_geometric_distance
at the Gaia archive; SkyMapper DR2 master/photometry joined to 2MASS, Gaia DR2 and
AllWISE at the SkyMapper TAP service). The values are drawn from a fixed seed.

    python tests/data/make_tap_recordings.py
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from astropy.table import Column, Table

HERE = Path(__file__).parent
SEED = 20240611


def col(name, values, unit=None, ucd=None, description="", dtype=None):
    c = Column(np.asarray(values, dtype=dtype), name=name, unit=unit, description=description)
    if ucd:
        c.meta["ucd"] = ucd
    return c


def gaia_ids(rng, n):
    # Gaia source_id: HEALPix level-12 index * 2**35 + a running number
    return (rng.integers(0, 12 * 4**12, n).astype(np.int64) * 2**35 + rng.integers(1, 2**20, n)).astype(np.int64)


def gaia_lesson(rng, n=16) -> Table:
    """Rows as the lesson's query returns them (parallax > 10 mas, parallax/error > 10, RV present)."""
    parallax = rng.uniform(10.5, 60.0, n)
    g = rng.uniform(6.0, 14.5, n)
    bp_rp = rng.uniform(0.5, 2.8, n)
    return Table([
        col("source_id", gaia_ids(rng, n), None, "meta.id;meta.main", "Unique source identifier", np.int64),
        col("ra", rng.uniform(0, 360, n), "deg", "pos.eq.ra;meta.main", "Right ascension"),
        col("dec", np.degrees(np.arcsin(rng.uniform(-1, 1, n))), "deg", "pos.eq.dec;meta.main", "Declination"),
        col("parallax", parallax, "mas", "pos.parallax.trig", "Parallax"),
        col("parallax_error", parallax / rng.uniform(20, 400, n), "mas", "stat.error;pos.parallax.trig",
            "Standard error of parallax"),
        col("pmra", rng.normal(0, 120, n), "mas / yr", "pos.pm;pos.eq.ra",
            "Proper motion in right ascension direction"),
        col("pmdec", rng.normal(0, 120, n), "mas / yr", "pos.pm;pos.eq.dec", "Proper motion in declination direction"),
        col("radial_velocity", rng.normal(0, 35, n), "km / s", "spect.dopplerVeloc.opt;em.opt.I",
            "Radial velocity"),
        col("phot_g_mean_mag", g, "mag", "phot.mag;em.opt", "G-band mean magnitude"),
        col("phot_bp_mean_mag", g + 0.45 * bp_rp, "mag", "phot.mag;em.opt.B",
            "Integrated BP mean magnitude"),
        col("phot_rp_mean_mag", g - 0.55 * bp_rp, "mag", "phot.mag;em.opt.R",
            "Integrated RP mean magnitude"),
    ])


def bailer_jones(rng, ids, release) -> Table:
    """Geometric distances for ``ids`` (EDR3: r_*_geo; DR2: r_est/r_lo/r_hi), in pc."""
    n = len(ids)
    r = rng.uniform(80, 4000, n)
    frac = rng.uniform(0.01, 0.2, n)
    if release == "edr3":
        names, desc = ("r_med_geo", "r_lo_geo", "r_hi_geo"), ("Median of the geometric distance posterior",
                                                            "16th percentile of the geometric distance posterior",
                                                            "84th percentile of the geometric distance posterior")
    else:
        names, desc = ("r_est", "r_lo", "r_hi"), ("Estimated distance", "Lower bound on the confidence interval",
                                                  "Upper bound on the confidence interval")
    return Table([
        col("source_id", ids, None, "meta.id;meta.main", "Unique source identifier", np.int64),
        col(names[0], r, "pc", "pos.distance;stat.median", desc[0], np.float32),
        col(names[1], r * (1 - frac), "pc", "pos.distance;stat.min", desc[1], np.float32),
        col(names[2], r * (1 + 1.2 * frac), "pc", "pos.distance;stat.max", desc[2], np.float32),
    ])


BANDS = "uvgriz"


def skymapper_sample(rng, n=8) -> Table:
    """Rows as the symbiotic selection query returns them from SkyMapper DR2 (+2MASS, Gaia DR2, AllWISE)."""
    k = rng.uniform(6.5, 12.0, n)
    jk = rng.uniform(0.9, 1.4, n)
    j = k + jk
    h = k + 0.75 * jk
    i = j + rng.uniform(1.6, 2.4, n)
    mags = {"z": i - 0.3, "i": i, "r": i + 0.9, "g": i + 2.2, "v": i + 3.6, "u": i + 4.0}
    cols = [
        col("object_id", rng.integers(1, 500_000_000, n), None, "meta.id;meta.main", "Global unique object ID",
            np.int64),
        col("raj2000", rng.uniform(200, 300, n), "deg", "pos.eq.ra;meta.main", "Mean ICRS Right Ascension"),
        col("dej2000", rng.uniform(-70, -10, n), "deg", "pos.eq.dec;meta.main", "Mean ICRS Declination"),
        col("glon", rng.uniform(300, 360, n), "deg", "pos.galactic.lon", "Galactic longitude"),
        col("glat", rng.uniform(-10, 10, n), "deg", "pos.galactic.lat", "Galactic latitude"),
        col("flags", np.zeros(n), None, "meta.code.qual", "Bitwise OR of Source Extractor flags", np.int16),
        col("flags_psf", np.zeros(n), None, "meta.code.qual", "PSF photometry neighbour bias bitmask", np.int16),
        col("class_star", rng.uniform(0.91, 0.99, n), None, "src.class.starGalaxy", "Maximum stellarity index",
            np.float32),
        col("nch_max", np.ones(n), None, "meta.number", "Maximum number of child sources", np.int16),
        col("prox", rng.uniform(6.5, 15, n), "arcsec", "pos.angDistance",
            "Distance to next-closest DR2 source within 15 arcsec", np.float32),
    ]
    for b in BANDS:
        cols.append(col(f"{b}_ngood", rng.integers(1, 6, n), None, "meta.number",
                        f"Number of {b}-band observations used", np.int16))
    for b in BANDS:
        cols.append(col(f"{b}_psf", mags[b], "mag", "phot.mag", f"Mean {b}-band PSF magnitude", np.float32))
        cols.append(col(f"e_{b}_psf", rng.uniform(0.005, 0.05, n), "mag", "stat.error;phot.mag",
                        f"Error in {b}-band PSF magnitude", np.float32))
    cols += [
        col("ebmv_sfd", rng.uniform(0.05, 1.2, n), "mag", "phys.absorption;em.opt.B",
            "E(B-V) from Schlegel+1998 extinction maps", np.float32),
        col("twomass_dist", rng.uniform(0.02, 1.5, n), "arcsec", "pos.angDistance",
            "Distance on sky to closest 2MASS PSC source", np.float32),
        col("gaia_dr2_dist1", rng.uniform(0.02, 1.5, n), "arcsec", "pos.angDistance",
            "Distance on sky to closest Gaia DR2 source", np.float32),
        col("allwise_dist", rng.uniform(0.05, 2.5, n), "arcsec", "pos.angDistance",
            "Distance on sky to closest AllWISE source", np.float32),
        col("j_m", j, "mag", "phot.mag;em.IR.J", "J selected default magnitude", np.float32),
        col("j_msigcom", rng.uniform(0.018, 0.03, n), "mag", "stat.error;phot.mag;em.IR.J",
            "J total magnitude uncertainty", np.float32),
        col("h_m", h, "mag", "phot.mag;em.IR.H", "H selected default magnitude", np.float32),
        col("h_msigcom", rng.uniform(0.018, 0.03, n), "mag", "stat.error;phot.mag;em.IR.H",
            "H total magnitude uncertainty", np.float32),
        col("k_m", k, "mag", "phot.mag;em.IR.K", "K selected default magnitude", np.float32),
        col("k_msigcom", rng.uniform(0.018, 0.03, n), "mag", "stat.error;phot.mag;em.IR.K",
            "K total magnitude uncertainty", np.float32),
        col("ph_qual", np.array(["AAA"] * n), None, "meta.code.qual", "Photometric quality flag"),
        col("source_id", gaia_ids(rng, n), None, "meta.id", "Gaia DR2 unique source identifier", np.int64),
        col("parallax", rng.uniform(0.1, 3.0, n), "mas", "pos.parallax.trig", "Parallax"),
        col("parallax_error", rng.uniform(0.02, 0.1, n), "mas", "stat.error;pos.parallax.trig",
            "Standard error of parallax"),
        col("pmra", rng.normal(-3, 4, n), "mas / yr", "pos.pm;pos.eq.ra", "Proper motion in right ascension"),
        col("pmdec", rng.normal(-3, 4, n), "mas / yr", "pos.pm;pos.eq.dec", "Proper motion in declination"),
        col("w1mpro", k - rng.uniform(0.1, 0.4, n), "mag", "phot.mag;em.IR.3-4um", "W1 magnitude", np.float32),
        col("w1sigmpro", rng.uniform(0.02, 0.05, n), "mag", "stat.error;phot.mag", "W1 uncertainty", np.float32),
        col("w2mpro", k - rng.uniform(0.2, 0.6, n), "mag", "phot.mag;em.IR.4-8um", "W2 magnitude", np.float32),
        col("w2sigmpro", rng.uniform(0.02, 0.05, n), "mag", "stat.error;phot.mag", "W2 uncertainty", np.float32),
    ]
    return Table(cols)


def skymapper_epochs(rng, sample: Table) -> Table:
    """Per-image PSF photometry of the sample as the epochs query returns it (dr2.photometry
    joined to dr2.images: ``i.date AS mjd, p.mag_psf AS mag, p.e_mag_psf AS err``)."""
    rows = []
    for k, oid in enumerate(sample["object_id"]):
        nights = 55_000 + np.sort(rng.choice(np.arange(1500, 3200), 2 + k % 2, replace=False))
        for night in nights:
            for b in BANDS:
                for _ in range(1 + (b in "gr")):
                    mjd = night + rng.uniform(0.40, 0.75)  # Siding Spring night: ~09-18 h UT
                    mean = float(sample[f"{b}_psf"][k])
                    rows.append((oid, mjd, b, mean + rng.normal(0, 0.03), rng.uniform(0.01, 0.05),
                                 int(rng.choice([0, 0, 0, 2, 16]))))
    oid, mjd, band, mag, err, flags = map(np.array, zip(*rows))
    return Table([
        col("object_id", oid, None, "meta.id;meta.main", "Global unique object ID", np.int64),
        col("mjd", mjd, "d", "time.epoch", "MJD of the start of the exposure (dr2.images.date)"),
        col("filter", band, None, "instr.filter", "Filter name"),
        col("mag", mag, "mag", "phot.mag", "PSF magnitude", np.float32),
        col("err", err, "mag", "stat.error;phot.mag", "Error in PSF magnitude", np.float32),
        col("flags", flags, None, "meta.code.qual", "Source Extractor flags", np.int16),
    ])


def main() -> None:
    rng = np.random.default_rng(SEED)
    lesson = gaia_lesson(rng)
    lesson.write(HERE / "gaia_lesson_sample.vot", format="votable", overwrite=True)
    ids = gaia_ids(rng, 30)
    bailer_jones(rng, ids, "edr3").write(HERE / "bailer_jones_edr3_sample.vot", format="votable", overwrite=True)
    bailer_jones(rng, ids, "dr2").write(HERE / "bailer_jones_dr2_sample.vot", format="votable", overwrite=True)
    sample = skymapper_sample(rng)
    sample.write(HERE / "skymapper_dr2_sample.vot", format="votable", overwrite=True)
    skymapper_epochs(rng, sample).write(HERE / "skymapper_dr2_epochs_sample.vot", format="votable", overwrite=True)
    for p in sorted(HERE.glob("*.vot")):
        print(f"{p.name}: {p.stat().st_size} bytes")


if __name__ == "__main__":
    main()
