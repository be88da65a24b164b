"""Catalogue: known objects, matched by position against a run's rows (``catalogs.match``)."""

from toolkit.core import Catalog, Columns, Config, RunContext, Table

#: (name, ra, dec) in degrees, ICRS J2000: well-known high-velocity stars
KNOWN = [("HD 140283", 235.7628, -10.9336), ("Kapteyn's star", 77.9190, -45.0184),
         ("Barnard's star", 269.4521, 4.6934), ("Groombridge 1830", 178.2449, 37.7186)]


class RaveKnownStars(Catalog):
    name = "rave.known"
    summary = "A few well-known high-velocity (halo) stars."
    citation = "positions from SIMBAD (J2000)"

    class Config(Config):
        pass

    def load(self, ctx: RunContext) -> Table:
        names, ra, dec = zip(*KNOWN)
        cols = Columns().add("name", list(names)).add("ra", list(ra), "deg").add("dec", list(dec), "deg")
        return Table.from_columns(cols)
