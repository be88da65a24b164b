"""Known-object catalogues on VizieR: one entry per catalogue (id, tables, columns, citation).

Adding a catalogue is adding an entry here and a two-line class in
``vizier_catalogs.py``. Column names are hints, not requirements: the loader
detects RA/Dec/name columns (RAJ2000/_RAJ2000/_RA, Name/Star/...) when a
hint is absent from the answer, because VizieR's column names for older
catalogues are not always what the paper's table shows.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class VizierCatalogDefinition:
    """What the toolkit needs to fetch, read and cite one VizieR catalogue."""

    #: short name used in match columns: match_<short_name>, match_<short_name>_sep
    short_name: str
    #: VizieR catalogue id (the cache key); the whole catalogue is requested
    vizier_id: str
    #: sub-tables to keep, by the last part of their VizieR name (e.g. "table1"), in order;
    #: when none of them is in the answer, every sub-table with positions is used
    tables: tuple[str, ...] = ()
    #: column hints: {"name": ..., "ra": ..., "dec": ...}; detected when absent or missing
    columns: dict = field(default_factory=dict)
    #: epoch (Julian year) of the catalogue positions
    epoch: float | None = 2000.0
    title: str = ""
    citation: str = ""
    bibcode: str = ""

    @property
    def url(self) -> str:
        return f"https://vizier.cds.unistra.fr/viz-bin/VizieR?-source={self.vizier_id}"


BELCZYNSKI2000 = VizierCatalogDefinition(
    short_name="belczynski2000",
    vizier_id="J/A+AS/146/407",
    # VizieR serves the 188 symbiotic + 30 suspected stars (the paper's Tables 1 and 2) as "catalog";
    # the original file names are table1/table2. adata (Skiff's accurate positions) repeats the same
    # objects and is only used when neither is present (duplicates by name are dropped).
    tables=("catalog", "table1", "table2"),
    columns={"name": "Name", "ra": "_RAJ2000", "dec": "_DEJ2000"},
    epoch=2000.0,
    title="A catalogue of symbiotic stars (188 symbiotic and 30 suspected symbiotic stars)",
    citation="Belczyński K., Mikołajewska J., Munari U., Ivison R. J., Friedjung M. 2000, "
             "A&AS 146, 407 (VizieR J/A+AS/146/407)",
    bibcode="2000A&AS..146..407B",
)

AKRAS2019 = VizierCatalogDefinition(
    short_name="akras2019",
    vizier_id="J/ApJS/240/21",
    # the census of known Galactic and extragalactic symbiotic stars and candidates
    tables=("table1", "table2", "catalog", "syst"),
    columns={"name": "Name", "ra": "_RAJ2000", "dec": "_DEJ2000"},
    epoch=2000.0,
    title="A census of symbiotic stars in the 2MASS, WISE and Gaia surveys",
    citation="Akras S., Guzman-Ramirez L., Leal-Ferreira M. L., Ramos-Larios G. 2019, ApJS 240, 21 "
             "(VizieR J/ApJS/240/21)",
    bibcode="2019ApJS..240...21A",
)

DEFINITIONS = {d.short_name: d for d in (BELCZYNSKI2000, AKRAS2019)}
