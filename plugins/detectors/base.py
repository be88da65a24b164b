"""``EstimatorDetector``: fit/score for every model-backed detector (autoencoder, VAE, forests, LOF, PCA, PyOD).

``fit`` gets the run's training sample (rows ordered by a hash of their id and
the seed; ``max_train_rows`` takes the first N), drops rows with NaN/inf
features (or imputes them, ``nan_policy``), refuses constant features, and
fits one model per fold plus a final model. Which rows a model trains on and
which model scores a row are functions of the row id and the seed alone
(``toolkit.core.sampling``), so a streamed run, an in-memory run and
``toolkit score`` on the run's table give the same scores:

- ``kfold``: a row's fold is a hash of its id; the fold-j model trains on the
  sample's rows outside fold j and scores every row of fold j, so each
  training row is scored out-of-fold. The run keeps ``fold_<step>``; a new
  table without it is scored by the final model (fitted on the whole sample).
- ``train_fraction``: one model trains on the sample's rows whose id hash
  falls below the fraction; those rows get NaN (``fold_<step> = -1``), every
  other row is scored.
- ``fit_all``: one model trains on the whole sample and scores every row.

Constant features are an error, not a warning: a feature with one value
carries no information and usually means a fill value or a broken upstream
step; the message names it so the recipe can drop it.
"""

from __future__ import annotations

import time
from typing import ClassVar, Literal

import numpy as np
from pydantic import model_validator

from toolkit.core import (Columns, Config, Detector, Field, FittedDetector, StageError, Table, ThresholdConfig,
                          fold_of, sample_hash, unit_interval)
from toolkit.core import RunContext

from .estimator import Estimator
from .figures import loss_curves_figure, reconstruction_figure
from .model import DEFAULT_CHUNK_ROWS, FittedModel
from .policy import describe_policy
from .preprocess import Preprocessor, constant_features, feature_matrix, nonfinite_counts
from toolkit.core import flag_column

RECONSTRUCTION_ROWS = 20_000   # rows drawn in the inputs-vs-reconstructions figure


class DetectorConfig(Config):
    """Options shared by every model-backed detector."""

    features: list[str] = Field(description="columns the model learns from, e.g. [M_G, M_BP, M_RP, x, y, z, "
                                "v_x, v_y, v_z]", min_length=1)
    policy: Literal["kfold", "train_fraction", "fit_all"] = Field(
        "kfold", description="kfold: every row scored by a model that did not train on it; train_fraction: train "
        "on a fraction of the sample, score the rest; fit_all: train on the sample, score all (in-sample)")
    folds: int = Field(5, ge=2, description="number of folds for policy kfold")
    train_fraction: float = Field(0.5, gt=0, lt=1, description="fraction of the sample that trains under "
                                  "train_fraction")
    max_train_rows: int | None = Field(None, ge=2, description="the training sample: at most N rows, chosen by a "
                                       "seeded hash of the row id (null: every row in memory; the executor's cap "
                                       "when streaming); all rows are scored")
    nan_policy: Literal["drop", "median"] = Field(
        "drop", description="drop: rows with NaN/inf in a feature get a NaN score; median: impute the training "
        "rows' median (recorded in the manifest)")
    threshold: ThresholdConfig = Field(default_factory=ThresholdConfig, description="how flags are chosen")
    chunk_rows: int = Field(DEFAULT_CHUNK_ROWS, ge=1, description="rows scored per batch (bounds memory)")
    save_model: bool = Field(True, description="save the fitted models under models/<step>/ (under kfold with one "
                             "more model fitted on the whole sample, for new tables; a seed ensemble scores new "
                             "tables with its fold models)")
    members: int = Field(1, ge=1, le=50, description="seed-ensemble members: each is the whole detector fitted again "
                         "with its own training seeds (and, under kfold, its own folds), all derived from the run's "
                         "seed; scores are combined from each member's fractional rank among its training-sample "
                         "scores (see `combine`), so a ranking no longer hangs on one seed (1: one model set, raw "
                         "scores)")
    combine: Literal["fisher", "median", "mean"] = Field(
        "fisher", description="how members' ranks combine: fisher: mean over members of -ln(tail fraction), the "
        "tail fraction being 1 + 1/n - rank/n (Fisher's method, so a star most members put in their far tail "
        "stays at the top when one member misses it); median: median rank; mean: rank averaging")

    @model_validator(mode="after")
    def _rank_scale_threshold(self) -> "DetectorConfig":
        t = self.threshold
        if self.members > 1 and t.method == "fixed" and self.combine != "fisher" and not 0 < float(t.value) <= 1:
            raise ValueError(f"with members: {self.members} and combine: {self.combine} the score is a fractional "
                             f"rank in (0, 1], so a fixed cut of {t.value:g} would flag nothing or everything; use "
                             "a cut in (0, 1] or top_fraction")
        return self


class FittedEstimatorDetector(FittedDetector):
    """Fold models (or one model) plus a final model; which model scores a row is in ``fold_<step>``."""

    def __init__(self, *, component: type["EstimatorDetector"], step: str, features: list[str], policy: str,
                 folds: int, train_fraction: float, nan_policy: str, seed: int, sample_limit: int | None,
                 models: list[FittedModel], final: FittedModel | None, chunk_rows: int,
                 score_description: str = "", summary: dict | None = None, member: int = 0) -> None:
        self.component, self.step, self.features = component, step, list(features)
        self.policy, self.folds, self.train_fraction = policy, folds, train_fraction
        self.nan_policy, self.seed, self.sample_limit = nan_policy, seed, sample_limit
        self.models, self.final, self.chunk_rows = models, final, chunk_rows
        self.score_description = score_description
        self.summary = dict(summary or {})
        self.member = member   # ensemble member (0: the run's own folds, as a single-member detector)

    @property
    def fold_column(self) -> str:
        return f"fold_{self.step}"

    @property
    def fold_salt(self) -> str:
        """The hash purpose of the kfold split: member 0 keeps the single detector's, others draw their own."""
        return fold_salt(self.step, self.member)

    # -- which model scores a row ------------------------------------------
    def _in_sample(self, table: Table) -> np.ndarray:
        ids = table.data[table.id_column].to_numpy()
        if self.sample_limit is None:
            return np.ones(len(table), bool)
        return sample_hash(ids, self.seed) <= np.uint64(self.sample_limit)

    def assign(self, table: Table) -> Columns:
        ids = table.data[table.id_column].to_numpy()
        insample = np.zeros(len(table), bool)
        if self.policy == "kfold":
            fold = fold_of(ids, self.seed, self.fold_salt, self.folds)
            what = f"fold whose model scores the row (0..{self.folds - 1}; that model never trained on it)"
        else:
            fold = np.zeros(len(table), np.int16)
            X = feature_matrix(table, self.features, self.step)
            used = self._in_sample(table) & (np.isfinite(X).all(axis=1) if self.nan_policy == "drop" else True)
            if self.policy == "train_fraction":
                trained = used & (unit_interval(ids, self.seed, f"split:{self.step}") < self.train_fraction)
                fold[trained] = -1
                what = "0: scored by the model; -1: the model trained on this row (NaN score)"
            else:
                insample = used
                what = "0: scored by the single model"
        return (Columns().add(self.fold_column, fold, description=f"{self.step}: {what}")
                .add(f"insample_{self.step}", insample,
                     description=f"True where the {self.step} score comes from a model trained on that row"))

    def score(self, table: Table) -> np.ndarray:
        X = feature_matrix(table, self.features, f"score with {self.step}")
        out = np.full(len(table), np.nan)
        if self.fold_column not in table.data.columns:       # a new table: the final model
            return self.final.score(X, self.chunk_rows)
        fold = table.data[self.fold_column].to_numpy()
        for j, model in enumerate(self.models):
            rows = np.flatnonzero(fold == j)
            if len(rows):
                out[rows] = model.score(X[rows], self.chunk_rows)
        return out

    # -- saving ---------------------------------------------------------------
    def save(self, files, prefix: str = "") -> dict:
        """Write the models' arrays (and skops/pickle objects) under file names starting with ``prefix``."""
        models = self.models + ([self.final] if self.final is not None and self.final not in self.models else [])
        arrays, entries = {}, []
        for i, model in enumerate(models):
            est, pre = model.estimator.get_state(), model.preprocessor.get_state()
            arrays.update({f"m{i}/estimator/{k}": v for k, v in est.get("arrays", {}).items()})
            arrays.update({f"m{i}/preprocess/{k}": v for k, v in pre["arrays"].items()})
            objects = {}
            for name, obj in (est.get("objects") or {}).items():
                fname = f"{prefix}m{i}_{name}"
                if self.component.objects_format == "skops":
                    files.write_sklearn(fname + ".skops", obj)
                    objects[name] = fname + ".skops"
                else:
                    import pickle

                    files.write_bytes(fname + ".pkl", pickle.dumps(obj, protocol=4), pickle=True)
                    objects[name] = fname + ".pkl"
            entries.append({"estimator": {"kind": model.estimator.kind, "params": est.get("params", {})},
                            "preprocess": pre["params"], "objects": objects, "n_train": model.n_train,
                            "history": model.estimator.history, "versions": model.estimator.versions()})
        files.write_arrays(f"{prefix}arrays.npz", arrays)
        final_index = models.index(self.final) if self.final is not None else None
        extra = {"arrays_file": f"{prefix}arrays.npz", "member": self.member} if prefix or self.member else {}
        return {**extra, "step": self.step, "features": self.features, "policy": self.policy, "folds": self.folds,
                "train_fraction": self.train_fraction, "nan_policy": self.nan_policy, "seed": self.seed,
                "sample_limit": None if self.sample_limit is None else str(self.sample_limit),
                "chunk_rows": self.chunk_rows, "n_fold_models": len(self.models), "final": final_index,
                "models": entries, "score_description": self.score_description}

    # -- figures ----------------------------------------------------------
    def figures(self, table: Table, ctx: RunContext) -> None:
        """Inputs against the final model's reconstructions (flagged rows in red), when the model reconstructs."""
        model = self.final or self.models[0]
        if not ctx.figures_enabled or not hasattr(model.estimator, "reconstruct"):
            return
        X = feature_matrix(table, self.features, self.step)
        rows = np.flatnonzero(np.isfinite(X).all(axis=1) if self.nan_policy == "drop" else np.ones(len(X), bool))
        if len(rows) > RECONSTRUCTION_ROWS:
            rows = np.sort(ctx.rng("reconstruction").choice(rows, size=RECONSTRUCTION_ROWS, replace=False))
        flag = table.data.get(flag_column(self.step), np.zeros(len(table), bool))
        recon = model.reconstruct(X[rows], self.chunk_rows)
        units = [table.info[f].unit or "" for f in self.features]
        fig = reconstruction_figure(X[rows], recon, np.asarray(flag, bool)[rows], self.features, units,
                                    f"{self.step} ({self.component.name}): inputs vs reconstructions")
        shown = f"a random sample of {len(rows)}" if len(rows) < len(X) else f"all {len(rows)}"
        if self.policy == "kfold" and self.final is None:
            which = (f"the model of fold 1 (trained on {model.n_train} rows; for the rows of fold 1 these "
                     "reconstructions are out-of-fold, for the others in-sample)")
        elif self.policy == "kfold":
            which = (f"the saved final model (trained on {model.n_train} rows, so for those rows these "
                     "reconstructions are in-sample, while the run's scores are out-of-fold)")
        else:
            which = f"the run's single model, the one that scored it (trained on {model.n_train} rows)"
        ctx.save_figure(fig, "reconstruction", caption=(
            f"Inputs (x) against reconstructions (y) per feature for {shown} rows of {step_label(self)}, "
            f"reconstructed by {which}; 2D histograms with log colour, dashed line y = x, flagged rows in red."))


def fold_salt(step: str, member: int) -> str:
    """Hash purpose of a step's kfold split; member 0's is the single detector's, so members: 1 changes nothing."""
    return f"fold:{step}" if member == 0 else f"fold:{step}:member{member}"


def step_label(fitted: FittedEstimatorDetector) -> str:
    return f"{fitted.step} ({fitted.component.name})"


class EstimatorDetector(Detector):
    """Base for detectors backed by an ``Estimator`` (subclasses give the estimator and its score meaning)."""

    Config = DetectorConfig
    #: the Estimator subclass this detector fits (used to load saved models)
    estimator_class: ClassVar[type[Estimator]] = Estimator
    #: how estimator objects without an array form are saved: "skops" (scikit-learn) or "pickle" (PyOD)
    objects_format: ClassVar[str] = "skops"

    def make_estimator(self) -> Estimator:
        raise NotImplementedError

    def score_meaning(self, n_features: int) -> str:
        """What one score is, e.g. 'sum over the 9 features of squared reconstruction error ...'."""
        raise NotImplementedError

    # ------------------------------------------------------------------
    def fit(self, sample: Table, ctx: RunContext) -> FittedDetector:
        cfg = self.config
        step = ctx.step_name(self.name.split(".")[-1])
        if cfg.max_train_rows is not None and len(sample) > cfg.max_train_rows:
            sample = sample.take(np.arange(cfg.max_train_rows))
        # the rows it learns from are those whose sample hash is <= limit (None: every row of the run)
        limit = None
        if len(sample) < sample.meta.get("sample_of", len(sample)):
            limit = int(sample_hash(sample.data[sample.id_column].to_numpy(), ctx.seed).max())
        X = feature_matrix(sample, cfg.features, self.name)
        finite = np.isfinite(X).all(axis=1)
        n_bad = int((~finite).sum())
        if n_bad:
            counts = nonfinite_counts(X, cfg.features)
            action = "left out of training and given a NaN score" if cfg.nan_policy == "drop" else \
                "imputed with training medians"
            ctx.record("nonfinite_training_rows", {"rows": n_bad, "per_feature": counts,
                                                   "nan_policy": cfg.nan_policy, "action": action})
            ctx.warn(f"{n_bad} of {len(X)} training-sample rows have NaN/inf features ({counts}); {action} "
                     f"(nan_policy={cfg.nan_policy})")
        usable = finite if cfg.nan_policy == "drop" else np.ones(len(X), bool)
        const = constant_features(X[usable], cfg.features)
        if const and usable.any():
            raise StageError(f"detector '{step}' ({self.name}): feature(s) {', '.join(repr(c) for c in const)} "
                             f"have a single value over all {int(usable.sum())} usable rows of the training sample "
                             "(or none finite); they carry no information (often a fill value or a failed upstream "
                             "step). Remove them from `features` or fix the column.")
        ids = sample.data[sample.id_column].to_numpy()
        plans = [self._plan(ids, usable, step, ctx.seed, m) for m in range(cfg.members)]
        probe = self.make_estimator()
        smallest = min((int(t.sum()) for plan in plans for t in plan), default=0)
        if smallest < probe.min_rows:
            dropped = f" ({n_bad} dropped for NaN/inf)" if cfg.nan_policy == "drop" and n_bad else ""
            raise StageError(f"detector '{step}' ({self.name}) has too few rows: {int(usable.sum())} usable of "
                             f"{len(X)}{dropped}; with policy {cfg.policy} the smallest training set would have "
                             f"{smallest} rows, and this model needs at least {probe.min_rows}. Use more rows, "
                             "fewer folds or policy fit_all.")
        t0 = time.perf_counter()
        # a seed ensemble scores new rows with the fold model their id hashes to (see members.py): no final model
        want_final = cfg.policy == "kfold" and cfg.save_model and cfg.members == 1
        n_fits = cfg.members * (len(plans[0]) + int(want_final))
        fitted_members = []
        with ctx.progress(f"{step}: fitting {n_fits} model(s)", total=n_fits) as advance:
            for m, plan in enumerate(plans):
                fitted_members.append(self._fit_member(m, plan, X, usable, want_final, step, ctx, limit, advance))
        policy_text = describe_policy(cfg.policy, folds=cfg.folds, train_fraction=cfg.train_fraction,
                                      max_train_rows=cfg.max_train_rows)
        description = f"{self.score_meaning(len(cfg.features))}; {policy_text}"
        if cfg.nan_policy == "drop":
            description += "; rows with NaN/inf features: NaN"
        first = fitted_members[0]
        summary = {"policy": cfg.policy, "policy_description": policy_text, "features": list(cfg.features),
                   "n_models": len(plans[0]), "training_sample_rows": int(len(sample)),
                   "n_usable_training_rows": int(usable.sum()),
                   "train_rows_per_model": [int(t.sum()) for t in plans[0]],
                   "fit_seconds": round(time.perf_counter() - t0, 3),
                   "saved_model": ("fold models (each scores the run's rows of its fold, as recorded in fold_"
                                   f"{step}) and a final model on the whole sample for new tables")
                   if cfg.policy == "kfold" else "the single model of the run (the one that produced the scores)"}
        if cfg.members > 1 and cfg.policy == "kfold":
            summary["saved_model"] = ("each member's fold models; any row, of the run or of a new table, is scored "
                                      "by each member's model of the fold its id hashes to (never one that trained "
                                      "on that row)")
        histories = [(f"fold {i + 1}" if len(first.models) > 1 else "model", m.estimator.history)
                     for i, m in enumerate(first.models) if m.estimator.history]
        if first.final is not None and first.final not in first.models and first.final.estimator.history:
            histories.append(("final", first.final.estimator.history))
        if histories:
            summary["epochs_run"] = {label: h["epochs_run"] for label, h in histories}
            which = " of member 1 (the others train alike with their own seeds)" if cfg.members > 1 else ""
            ctx.save_figure(loss_curves_figure(histories, f"{step} ({self.name}) loss"), "loss_curves",
                            caption=f"Training (solid) and validation (dashed) loss per epoch for each model of "
                                    f"{step}{which}; thin vertical lines mark the best validation epoch (weights "
                                    "kept).")
        for fitted in fitted_members:
            fitted.score_description, fitted.summary = description, dict(summary)
        if cfg.members == 1:
            return first
        from .members import FittedMembers

        return FittedMembers.fit(fitted_members, sample, cfg.combine, summary)

    def _fit_member(self, member: int, plan: list[np.ndarray], X: np.ndarray, usable: np.ndarray, want_final: bool,
                    step: str, ctx, limit: int | None, advance) -> FittedEstimatorDetector:
        """One member: a model per training mask of ``plan`` (+ a final model). Member 0 is the single detector."""
        cfg = self.config
        salt = "" if member == 0 else f"member{member}:"
        models = []
        for i, train in enumerate(plan):
            models.append(FittedModel.fit(X[train], cfg.features, self.make_estimator(),
                                          nan_policy=cfg.nan_policy, seed=ctx.step_seed(f"{salt}fold{i}")))
            advance(1)
        final = models[0] if cfg.policy != "kfold" else None
        if want_final:
            final = FittedModel.fit(X[usable], cfg.features, self.make_estimator(), nan_policy=cfg.nan_policy,
                                    seed=ctx.step_seed(f"{salt}final"))
            advance(1)
        return FittedEstimatorDetector(
            component=type(self), step=step, features=cfg.features, policy=cfg.policy, folds=cfg.folds,
            train_fraction=cfg.train_fraction, nan_policy=cfg.nan_policy, seed=ctx.seed, sample_limit=limit,
            models=models, final=final, chunk_rows=cfg.chunk_rows, member=member)

    def _plan(self, ids: np.ndarray, usable: np.ndarray, step: str, seed: int, member: int = 0) -> list[np.ndarray]:
        """Boolean training masks over the sample, one per model that scores the run's rows."""
        cfg = self.config
        if cfg.policy == "kfold":
            fold = fold_of(ids, seed, fold_salt(step, member), cfg.folds)
            return [usable & (fold != j) for j in range(cfg.folds)]
        if cfg.policy == "train_fraction":
            return [usable & (unit_interval(ids, seed, f"split:{step}") < cfg.train_fraction)]
        return [usable]

    # -- loading ------------------------------------------------------------
    @classmethod
    def load(cls, files, state: dict) -> FittedDetector:
        if "members" in state:     # a seed ensemble (members > 1)
            from .members import FittedMembers

            return FittedMembers.load(cls, files, state)
        return cls.load_single(files, state)

    @classmethod
    def load_single(cls, files, state: dict) -> FittedEstimatorDetector:
        """One model set (a single detector, or one member of an ensemble)."""
        arrays = files.read_arrays(state.get("arrays_file", "arrays.npz"))
        models = []
        for i, entry in enumerate(state["models"]):
            est_arrays = {k.split("/", 2)[2]: v for k, v in arrays.items() if k.startswith(f"m{i}/estimator/")}
            pre_arrays = {k.split("/", 2)[2]: v for k, v in arrays.items() if k.startswith(f"m{i}/preprocess/")}
            objects = {}
            for name, fname in entry.get("objects", {}).items():
                objects[name] = files.read_sklearn(fname) if fname.endswith(".skops") else files.read_pickle(fname)
            if entry["estimator"]["kind"] != cls.estimator_class.kind:
                raise ValueError(f"model {i} is a '{entry['estimator']['kind']}', this detector makes "
                                 f"'{cls.estimator_class.kind}'")
            estimator = cls.estimator_class.from_state({"params": entry["estimator"]["params"], "arrays": est_arrays,
                                                        "objects": objects})
            estimator.history = entry.get("history")
            pre = Preprocessor.from_state({"params": entry["preprocess"], "arrays": pre_arrays})
            models.append(FittedModel(list(state["features"]), pre, estimator, n_train=entry.get("n_train", 0)))
        n_fold = int(state["n_fold_models"])
        final = models[state["final"]] if state.get("final") is not None else None
        limit = state.get("sample_limit")
        return FittedEstimatorDetector(
            component=cls, step=state["step"], features=state["features"], policy=state["policy"],
            folds=int(state["folds"]), train_fraction=float(state["train_fraction"]), nan_policy=state["nan_policy"],
            seed=int(state["seed"]), sample_limit=None if limit is None else int(limit), models=models[:n_fold],
            final=final, chunk_rows=int(state["chunk_rows"]), score_description=state.get("score_description", ""),
            member=int(state.get("member", 0)))
