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
detector   ``fit(sample, ctx)``                        ``FittedDetector``
validator  ``validate(table, ctx)``                    ``Validation``
catalog    ``load(ctx)``                               ``Table`` (name, ra, dec)
=========  ==========================================  ====================

Row-wise components (cuts, features, and validators marked ``row_wise``) must
be chunk-pure: run on any split of the rows they give the same rows as on the
whole table. ``toolkit.core.testing.assert_chunk_pure`` checks it.

Detectors are shaped like scikit-learn estimators: ``fit`` learns from a seeded
sample of the rows and returns a ``FittedDetector``, which scores any chunk of
rows (chunk-pure), saves itself as plain files and is loaded back by the
detector class that made it (``Detector.load``). That is what lets one recipe
run in memory or streamed over a table far larger than memory with the same
scores. A detector that can only look at the whole table at once may implement
``detect(table, ctx)`` instead; it then runs only with the in-memory executor.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, ClassVar, Iterator

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, model_validator  # noqa: F401  (Field re-exported)

from .context import RunContext
from .paths import resolve_field
from .table import Columns, Table
from .scores import flag_column

KINDS = ("source", "cut", "feature", "detector", "validator", "catalog")


class Config(BaseModel):
    """Base for component configs: unknown keys are errors, values are type-checked."""

    # NaN and infinity are never a meaningful setting (a NaN radius or epoch silently matches nothing)
    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True, allow_inf_nan=False)

    @model_validator(mode="before")
    @classmethod
    def _recipe_relative_paths(cls, data: Any, info: ValidationInfo) -> Any:
        """A relative path parameter read from a recipe resolves against the recipe's folder
        (``toolkit.core.paths``); from ``--set``, against the working directory. (A model-level
        validator: a field-level one on every field would forbid discriminated unions in configs.)"""
        if not isinstance(data, dict) or not info.context:
            return data
        fields = cls.model_fields
        return {key: resolve_field(value, key, fields[key].annotation if key in fields else None, info.context)
                for key, value in data.items()}


class Component:
    name: ClassVar[str] = ""
    summary: ClassVar[str] = ""
    kind: ClassVar[str] = ""
    Config: ClassVar[type[Config]] = Config
    #: True when the work on a row depends on that row alone (see module doc).
    row_wise: ClassVar[bool] = False
    #: Former names that still resolve to this component for one release, with a deprecation
    #: message naming ``name`` (``toolkit check`` and ``toolkit run`` print it).
    aliases: ClassVar[tuple[str, ...]] = ()

    def __init__(self, config: Config | dict | None = None, **params: Any) -> None:
        if config is None or isinstance(config, dict):
            config = self.Config(**{**(config or {}), **params})
        self.config = config

    def __repr__(self) -> str:
        return f"<{self.kind} {self.name} {self.config!r}>"


#: what a ``toolkit_register_<kind>s`` hook is handed: call it with each component class
Register = Callable[[type[Component]], None]


class Source(Component):
    kind = "source"

    def load(self, ctx: RunContext) -> Table:
        """Return the table. Remote sources raise ``SourceUnavailable`` when offline."""
        raise NotImplementedError

    def iter_chunks(self, ctx: RunContext, chunk_rows: int) -> Iterator[Table]:
        """Yield the table in chunks of at most ``chunk_rows`` rows, for streamed runs.

        Row ids must be global (a generated ``row_id`` continues across chunks)
        and the rows the same, in the same order, whatever ``chunk_rows`` is.
        A source that cannot stream leaves this as it is; the stream executor
        then says so and suggests the in-memory executor.
        """
        raise NotImplementedError

    @classmethod
    def can_stream(cls) -> bool:
        return cls.iter_chunks is not Source.iter_chunks

    def shared_with_fallback(self) -> dict:
        """Parameters the recipe's declared fallback takes over when its own ``with`` leaves them out
        and its config has them (gaia.archive hands on ``release``, so that
        ``--set source.with.release=dr2`` changes the mock too); a fallback that sets one differently
        is a recipe error."""
        return {}


class Cut(Component):
    kind = "cut"
    row_wise = True

    def mask(self, table: Table, ctx: RunContext) -> np.ndarray:
        """Boolean array, True for rows that pass."""
        raise NotImplementedError

    def describe(self) -> str:
        """The cut as a person reads it, for the cut-flow table."""
        return self.name


class Feature(Component):
    kind = "feature"
    row_wise = True

    def compute(self, table: Table, ctx: RunContext) -> Columns:
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
    #: the FittedDetector behind the scores, when the detector has one
    fitted: Any = None


class FittedDetector:
    """What a detector learnt: scores any chunk of rows, saves itself as plain files.

    ``assign(table)`` returns per-row bookkeeping that the run keeps beside the
    score (for example the fold whose model scores a row); it must depend on
    the row alone (its id, the seed). ``score(table)`` gets the table with
    those columns added and returns one float per row, higher = more
    anomalous, NaN where a row cannot be scored. ``save(files)`` writes the
    state through ``toolkit.core.models.ModelFiles`` (arrays, JSON; a pickle
    only when nothing else can hold the state) and returns a JSON-able dict
    handed back to ``Detector.load``. ``score_description`` says what a score
    is; ``summary`` goes into the manifest.
    """

    score_description: str = ""
    summary: dict = {}

    def assign(self, table: Table) -> Columns:
        return Columns()

    def score(self, table: Table) -> np.ndarray:
        raise NotImplementedError

    def save(self, files) -> dict:
        raise NotImplementedError

    # Optional: ``flag(table)`` -> bool per row, a detector's own flag rule (e.g. "member of a
    # group"), used instead of the threshold; ``figures(table, ctx)`` draws figures once the flags
    # are known (``table``: the rows validators see, with ``score_<step>`` and ``flag_<step>``).
    # ``columns_at_cut(table, cut, parts=None)`` -> Columns, per-row columns that need the run's numeric
    # cut (a seed ensemble's share of members that flag the row); ``table`` has ``score_<step>`` and
    # ``flag_<step>``. ``score_with_parts(table)`` -> (score, parts of shape (rows, k)): the score and the
    # per-row values it was combined from; a run keeps the parts (on disk when streaming) and hands
    # them back as ``columns_at_cut``'s ``parts``, so they are not computed twice.


class Detector(Component):
    """Fit on a sample, score every chunk (see the module doc).

    ``config.threshold`` (a ``toolkit.core.thresholds.ThresholdConfig``), when
    the config has one, turns the scores of all rows into flags;
    ``config.max_train_rows`` caps the seeded sample handed to ``fit`` (the
    rows with the smallest id hashes; None: every row).
    """

    kind = "detector"

    def fit(self, sample: Table, ctx: RunContext) -> FittedDetector:
        raise NotImplementedError

    def fit_rows(self, chunk: Table, ctx) -> np.ndarray | None:
        """Rows of ``chunk`` that ``fit`` must see besides the seeded sample (bool array), or None.

        For learners of a few named rows (a reviewer's labelled stars). The runner appends them,
        once each, after the sample's rows and sets ``sample.meta["fit_rows_added"]`` to their number.
        """
        return None

    def threshold_for(self, flagged: dict[str, int], n_rows: int):
        """The threshold rule, given how many rows each earlier detector step flagged (``n_rows`` scored).

        By default ``config.threshold``; a detector whose count follows another's overrides it.
        """
        return self.threshold

    @classmethod
    def load(cls, files, state: dict) -> FittedDetector:
        """Rebuild the fitted detector that ``FittedDetector.save`` wrote (``files``: a ``ModelFiles``)."""
        raise NotImplementedError

    def detect(self, table: Table, ctx: RunContext) -> Detection:
        """Fit on ``table``'s seeded sample, score and flag every row: what an in-memory run does.

        Detectors that cannot score chunks override this instead of ``fit``
        (they then run only with the in-memory executor).
        """
        if not self.can_fit():
            raise NotImplementedError(f"{type(self).__name__} implements neither fit nor detect")
        from .models import save_for_run
        from .sampling import sample_hash
        from .thresholds import apply_cut, threshold_cut, threshold_record

        ids = table.data[table.id_column].to_numpy()
        order = np.lexsort((np.arange(len(table)), sample_hash(ids, ctx.seed)))
        cap = self.max_train_rows
        picked = order if cap is None else order[:cap]
        wanted = self.fit_rows(table, ctx)
        if wanted is not None:   # rows the detector must see, appended after the sample's
            wanted = np.asarray(wanted, bool).copy()
            wanted[picked] = False
            added = np.nonzero(wanted)[0]
            picked = np.concatenate([picked, added])
        sample = table.take(picked)
        sample.meta["sample_of"] = len(table)
        sample.meta["fit_rows_added"] = 0 if wanted is None else len(added)
        fitted = self.fit(sample, ctx)
        extra = fitted.assign(table)
        score = np.asarray(fitted.score(table.with_columns(extra)), float)
        flagged = {c[len("flag_"):]: int(np.asarray(table.data[c], bool).sum())
                   for c in table.columns if c.startswith("flag_")}
        cfg = self.threshold_for(flagged, len(table))
        cut = threshold_cut(score, cfg) if cfg is not None else None
        flag = apply_cut(score, cut, cfg.upper if cfg is not None else None) if not hasattr(fitted, "flag") \
            else np.asarray(fitted.flag(table.with_columns(extra)), bool)
        if hasattr(fitted, "columns_at_cut"):   # per-row columns that need the cut (ensemble members' votes)
            step = ctx.step_name(self.name.split(".")[-1])
            flagged = table.with_columns(extra).with_columns(Columns().add(flag_column(step), flag))
            votes = fitted.columns_at_cut(flagged, cut)
            for name in votes.names():
                extra.data[name], extra.info[name] = votes.data[name], votes.info[name]
        summary = {**fitted.summary, "threshold": threshold_record(cfg, cut)}
        from .figures import score_histogram_figure

        ctx.save_figure(score_histogram_figure(score, cut, f"{self.name} scores", "score"), "score_histogram",
                        caption=f"Scores: {fitted.score_description}. Red line: flag threshold "
                                f"({summary['threshold']['rule']}).")
        model_dir = save_for_run(self, fitted, table, summary["threshold"], ctx)
        if model_dir is not None:
            summary["model_dir"] = model_dir
        if hasattr(fitted, "figures"):   # as the runner does: on the table with this step's flags
            step = ctx.step.split(".", 1)[-1] if ctx.step else self.name.split(".")[-1]
            fitted.figures(table.with_columns(extra).with_columns(Columns().add(flag_column(step), flag)), ctx)
        return Detection(score=score, flag=flag, score_description=fitted.score_description, columns=extra,
                         summary=summary, fitted=fitted)

    @classmethod
    def can_fit(cls) -> bool:
        return cls.fit is not Detector.fit

    @property
    def threshold(self):
        return getattr(self.config, "threshold", None)

    @property
    def max_train_rows(self) -> int | None:
        return getattr(self.config, "max_train_rows", None)


@dataclass
class Validation:
    """A validator's findings: per-row columns, a JSON-able summary, figures via ctx."""

    columns: Columns = field(default_factory=Columns)
    summary: dict = field(default_factory=dict)


class Validator(Component):
    """Checks flagged rows (orbits, catalogue matches) and draws the run's diagrams.

    A validator sees the rows it ``select``s: by default the flagged rows and a
    seeded sample of the others (every row when the table is small, see
    ``toolkit.core.executors``), so that a survey-size run hands it thousands
    of rows, not billions. A validator with its own rule (flagged rows plus a
    reference sample chosen from the row id) overrides ``select``; the rule
    must depend on the row alone.
    """

    kind = "validator"

    def select(self, table: Table, ctx: RunContext) -> np.ndarray | None:
        """Rows this validator needs (bool array), or None for the default choice."""
        return None

    def validate(self, table: Table, ctx: RunContext) -> Validation:
        raise NotImplementedError


class Catalog(Component):
    kind = "catalog"
    #: citation shown in reports and `toolkit plugins show`
    citation: ClassVar[str] = ""

    def load(self, ctx: RunContext) -> Table:
        """Known objects with at least ``name``, ``ra`` and ``dec`` (degrees, ICRS)."""
        raise NotImplementedError


BASES = {"source": Source, "cut": Cut, "feature": Feature, "detector": Detector,
         "validator": Validator, "catalog": Catalog}
