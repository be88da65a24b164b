"""Validator: checks the flagged rows against physics the detector did not use.

Halo stars are fast and metal-poor. A detector that flags on velocity alone
should find flagged stars metal-poorer than the rest; this validator says how
many are, per row (a column) and for the run (a summary in manifest.json).
"""

from toolkit.core import Columns, Config, Field, RunContext, Table, Validation, Validator


class RaveMetalPoor(Validator):
    name = "rave.metal_poor"
    summary = "Are the flagged stars metal-poor ([Fe/H] below a limit), as halo stars are?"
    row_wise = True           # the column for a row depends on that row alone

    class Config(Config):
        max_feh: float = Field(-1.0, description="[Fe/H] (dex) below which a star counts as metal-poor")

    def validate(self, table: Table, ctx: RunContext) -> Validation:
        table.require(["feh"], self.name)
        poor = table.array("feh") < self.config.max_feh
        flagged = table.flagged()                     # any detector's flag_<step> column
        share = lambda rows: round(float(poor[rows].mean()), 4) if rows.any() else None  # noqa: E731
        return Validation(
            columns=Columns().add("metal_poor", poor, None, f"[Fe/H] < {self.config.max_feh:g}"),
            summary={"flagged": int(flagged.sum()), "metal_poor_share_flagged": share(flagged),
                     "metal_poor_share_others": share(~flagged)})
