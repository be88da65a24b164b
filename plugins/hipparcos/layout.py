"""The byte layout of ESA I/311 ``hip2.dat`` (van Leeuwen 2007), as its ReadMe gives it.

Each field: I/311 label, toolkit column name, first and last byte (1-based,
inclusive), type, unit, description. Column names follow one rule so a reader
of the ReadMe can find them: the I/311 label lower-cased with ``-`` replaced by
``_`` (``Plx`` -> ``plx``, ``B-V`` -> ``b_v``, ``e_B-V`` -> ``e_b_v``); the 15
weight-matrix elements ``UW`` become ``uw1`` ... ``uw15`` in file order.

Derived by the source (not in the file): ``source_id`` (= HIP), ``ra``/``dec``
(degrees), ``solution_type`` (Sn mod 10), ``solution_flags`` (Sn div 10) and
``unit_weight_error`` (from F2 and Ntr).
"""

from __future__ import annotations

from dataclasses import dataclass

LINE_LENGTH = 276          # bytes per record, without the newline
N_STARS_I311 = 117_955     # records in the published hip2.dat


@dataclass(frozen=True)
class Field:
    label: str          # as in the I/311 ReadMe
    start: int          # first byte, 1-based
    end: int            # last byte, 1-based, inclusive
    kind: str           # "i" integer, "f" float
    unit: str | None
    description: str

    @property
    def column(self) -> str:
        return column_name(self.label)

    @property
    def width(self) -> int:
        return self.end - self.start + 1


def column_name(label: str) -> str:
    """I/311 label -> toolkit column name (usable in recipe expressions)."""
    return label.lower().replace("-", "_")


FIELDS: tuple[Field, ...] = (
    Field("HIP", 1, 6, "i", None, "Hipparcos identifier"),
    Field("Sn", 8, 10, "i", None, "solution type, new reduction: 10*d + s (s: 1 stochastic, 3 VIM, "
          "5 five-parameter, 7/9 acceleration; d: 1 double, 2 variable >0.2 mag, 4 photocentre, 8 secondary)"),
    Field("So", 12, 12, "i", None, "solution type, old reduction (0 standard 5-parameter, 1 7/9-parameter, "
          "2 stochastic, 3 double/multiple, 4 orbital binary, 5 VIM)"),
    Field("Nc", 14, 14, "i", None, "number of components"),
    Field("RArad", 16, 28, "f", "rad", "right ascension, ICRS, epoch J1991.25"),
    Field("DErad", 30, 42, "f", "rad", "declination, ICRS, epoch J1991.25"),
    Field("Plx", 44, 50, "f", "mas", "parallax"),
    Field("pmRA", 52, 59, "f", "mas / yr", "proper motion in right ascension, times cos(dec)"),
    Field("pmDE", 61, 68, "f", "mas / yr", "proper motion in declination"),
    Field("e_RArad", 70, 75, "f", "mas", "formal error on right ascension (times cos(dec))"),
    Field("e_DErad", 77, 82, "f", "mas", "formal error on declination"),
    Field("e_Plx", 84, 89, "f", "mas", "formal error on parallax"),
    Field("e_pmRA", 91, 96, "f", "mas / yr", "formal error on pmra"),
    Field("e_pmDE", 98, 103, "f", "mas / yr", "formal error on pmde"),
    Field("Ntr", 105, 107, "i", None, "number of field transits used"),
    Field("F2", 109, 113, "f", None, "goodness of fit (approximately unit normal for a good 5-parameter fit)"),
    Field("F1", 115, 116, "i", "%", "percentage of rejected data"),
    Field("var", 118, 123, "f", None, "cosmic dispersion added (stochastic solutions)"),
    Field("ic", 125, 128, "i", None, "entry in one of the supplementary catalogues"),
    Field("Hpmag", 130, 136, "f", "mag", "Hipparcos magnitude"),
    Field("e_Hpmag", 138, 143, "f", "mag", "error on mean Hp magnitude"),
    Field("sHp", 145, 149, "f", "mag", "scatter of Hp magnitude"),
    Field("VA", 151, 151, "i", None, "reference to the variability annex (0, 1, 2)"),
    Field("B-V", 153, 158, "f", "mag", "B-V colour index"),
    Field("e_B-V", 160, 164, "f", "mag", "formal error on B-V"),
    Field("V-I", 166, 171, "f", "mag", "V-I colour index"),
) + tuple(
    Field(f"UW{k + 1}", 172 + 7 * k, 178 + 7 * k, "f", None,
          f"element {k + 1} of the upper-triangular weight matrix (I/311 note G1)")
    for k in range(15)
)

#: byte columns (0-based) that must hold a blank in every record
GAPS: tuple[int, ...] = tuple(
    sorted(set(range(LINE_LENGTH)) - {b for f in FIELDS for b in range(f.start - 1, f.end)})
)

#: plausible ranges; a value outside names the line as not I/311
RANGES = {"HIP": (1, 120_404), "RArad": (0.0, 6.2832), "DErad": (-1.5708, 1.5708),
          "Sn": (0, 159), "So": (0, 5), "Nc": (0, 9), "VA": (0, 2)}
