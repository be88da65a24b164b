"""Components: the units of work that plugins register.

A component is a class with a dotted ``name`` (``gaia.archive``), a one-line
``summary``, a typed ``Config`` (a pydantic model, validated before any work
starts) and one method that does its work. The kind is fixed by the base class:

=========  ==========================================  ====================
kind       method                                      returns
=========  ==========================================  ====================
source     ``load(ctx)``                               ``Table``
cut        ``mask(table, ctx)``                        bool array, True = keep
feature    ``compute(table, ctx)``                     ``Columns``
detector   ``detect(table, ctx)``                      ``Detection``
validator  ``validate(table, ctx)``                    ``Validation``
catalog    ``load(ctx)``                               ``Table`` (name, ra, dec)
=========  ==========================================  ====================

Row-wise components (cuts, features, and validators marked ``row_wise``) must
be chunk-pure: run on any split of the rows they give the same rows as on the
whole table. ``toolkit.core.testing.assert_chunk_pure`` checks it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
from pydantic import BaseModel, ConfigDict, Field  # noqa: F401  (Field re-exported)

from .table import Columns, Table

KINDS = ("source", "cut", "feature", "detector", "validator", "catalog")


class Config(BaseModel):
    """Base for component configs: unknown keys are errors, values are type-checked."""

    # NaN and infinity are never a meaningful setting (a NaN radius or epoch silently matches nothing)
    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True, allow_inf_nan=False)


class Component:
    name: ClassVar[str] = ""
    summary: ClassVar[str] = ""
    kind: ClassVar[str] = ""
    Config: ClassVar[type[Config]] = Config
    #: True when the work on a row depends on that row alone (see module doc).
    row_wise: ClassVar[bool] = False

    def __init__(self, config: Config | dict | None = None, **params: Any) -> None:
        if config is None or isinstance(config, dict):
            config = self.Config(**{**(config or {}), **params})
        self.config = config

    def __repr__(self) -> str:
        return f"<{self.kind} {self.name} {self.config!r}>"


class Source(Component):
    kind = "source"

    def load(self, ctx) -> Table:
        """Return the table. Remote sources raise ``SourceUnavailable`` when offline."""
        raise NotImplementedError


class Cut(Component):
    kind = "cut"
    row_wise = True

    def mask(self, table: Table, ctx) -> np.ndarray:
        """Boolean array, True for rows that pass."""
        raise NotImplementedError

    def describe(self) -> str:
        """The cut as a person reads it, for the cut-flow table."""
        return self.name


class Feature(Component):
    kind = "feature"
    row_wise = True

    def compute(self, table: Table, ctx) -> Columns:
        """New columns (same rows, same order), with units and descriptions."""
        raise NotImplementedError


@dataclass
class Detection:
    """What a detector gives back for every row of the table it was handed.

    ``score``: higher means more anomalous; NaN where a row could not be scored.
    ``flag``: True for rows flagged as anomalous (None: the detector flags nothing).
    ``score_description``: says what the score is (e.g. "summed squared
    reconstruction error in standardised units, out-of-fold").
    """

    score: np.ndarray
    flag: np.ndarray | None = None
    score_description: str = ""
    columns: Columns = field(default_factory=Columns)
    summary: dict = field(default_factory=dict)


class Detector(Component):
    kind = "detector"

    def detect(self, table: Table, ctx) -> Detection:
        raise NotImplementedError


@dataclass
class Validation:
    """A validator's findings: per-row columns, a JSON-able summary, figures via ctx."""

    columns: Columns = field(default_factory=Columns)
    summary: dict = field(default_factory=dict)


class Validator(Component):
    kind = "validator"

    def validate(self, table: Table, ctx) -> Validation:
        raise NotImplementedError


class Catalog(Component):
    kind = "catalog"
    #: citation shown in reports and `toolkit plugins show`
    citation: ClassVar[str] = ""

    def load(self, ctx) -> Table:
        """Known objects with at least ``name``, ``ra`` and ``dec`` (degrees, ICRS)."""
        raise NotImplementedError


BASES = {"source": Source, "cut": Cut, "feature": Feature, "detector": Detector,
         "validator": Validator, "catalog": Catalog}
