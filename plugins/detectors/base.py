"""``EstimatorDetector``: the detect() every model-backed detector shares.

Steps: select the features (missing -> StageError naming them); handle NaN/inf
by ``nan_policy`` (counted in the manifest); refuse constant features; plan the
train/score split (``policy.py``); fit a preprocessor + estimator per fold on
training rows only and score the held-out rows in chunks; under kfold fit one
more model on all usable rows (capped by ``max_train_rows``) -- that final model
is the one saved for reuse, while the run's scores stay out-of-fold; threshold
the scores; save the model, the loss curves, the score histogram and, for
estimators that reconstruct their input (autoencoder, VAE), inputs against
reconstructions per feature.

Constant features are an error, not a warning: a feature with one value
carries no information and usually means a fill value or a broken upstream
step; the message names it so the recipe can drop it.
"""

from __future__ import annotations

import time
from typing import Literal

import numpy as np

from toolkit.core import Columns, Config, Detection, Detector, Field, StageError, Table

from .estimator import Estimator
from .figures import loss_curves_figure, reconstruction_figure, score_histogram_figure
from .model import DEFAULT_CHUNK_ROWS, FittedModel
from .policy import describe_policy, final_training_rows, plan_folds
from .preprocess import constant_features, feature_matrix, nonfinite_counts
from .thresholds import ThresholdConfig, apply_cut, threshold_cut


RECONSTRUCTION_ROWS = 20_000   # rows drawn in the inputs-vs-reconstructions figure


class DetectorConfig(Config):
    """Options shared by every model-backed detector (see contracts: binding names)."""

    features: list[str] = Field(description="columns the model learns from, e.g. [M_G, M_BP, M_RP, x, y, z, "
                                "v_x, v_y, v_z]", min_length=1)
    policy: Literal["kfold", "train_fraction", "fit_all"] = Field(
        "kfold", description="kfold: every row scored out-of-fold; train_fraction: train on a random fraction, "
        "score the rest; fit_all: train on all rows, score all (in-sample)")
    folds: int = Field(5, ge=2, description="number of folds for policy kfold")
    train_fraction: float = Field(0.5, gt=0, lt=1, description="fraction of rows that train under train_fraction")
    max_train_rows: int | None = Field(None, ge=2, description="train each model on a random sample of at most N "
                                       "rows (the others are scored in chunks)")
    nan_policy: Literal["drop", "median"] = Field(
        "drop", description="drop: rows with NaN/inf in a feature get a NaN score; median: impute the training "
        "rows' median (recorded in the manifest)")
    threshold: ThresholdConfig = Field(default_factory=ThresholdConfig, description="how flags are chosen")
    chunk_rows: int = Field(DEFAULT_CHUNK_ROWS, ge=1, description="rows scored per chunk (bounds memory)")
    save_model: bool = Field(True, description="save the fitted model under models/<step>/ (under kfold this "
                             "fits one extra model on all rows)")


def step_name(ctx, fallback: str) -> str:
    return ctx.step.split(".", 1)[-1] if getattr(ctx, "step", "") else fallback


class EstimatorDetector(Detector):
    """Base for detectors backed by an ``Estimator`` (subclasses give the estimator and its score meaning)."""

    Config = DetectorConfig

    def make_estimator(self) -> Estimator:
        raise NotImplementedError

    def score_meaning(self, n_features: int) -> str:
        """What one score is, e.g. 'sum over the 9 features of squared reconstruction error ...'."""
        raise NotImplementedError

    # ------------------------------------------------------------------
    def detect(self, table: Table, ctx) -> Detection:
        cfg = self.config
        step = step_name(ctx, self.name.split(".")[-1])
        X = feature_matrix(table, cfg.features, self.name)
        finite = np.isfinite(X).all(axis=1)
        n_bad = int((~finite).sum())
        if n_bad:
            counts = nonfinite_counts(X, cfg.features)
            action = "given a NaN score" if cfg.nan_policy == "drop" else "imputed with training medians"
            ctx.record("nonfinite_rows", {"rows": n_bad, "per_feature": counts, "nan_policy": cfg.nan_policy,
                                          "action": action})
            ctx.warn(f"{n_bad} of {len(X)} rows have NaN/inf features ({counts}); {action} (nan_policy="
                     f"{cfg.nan_policy})")
        usable = finite if cfg.nan_policy == "drop" else np.ones(len(X), bool)
        rows = np.flatnonzero(usable)
        Xu = X[rows]
        const = constant_features(Xu, cfg.features)
        if const and len(Xu):
            raise StageError(f"detector '{step}' ({self.name}): feature(s) {', '.join(repr(c) for c in const)} "
                             f"have a single value over all {len(Xu)} usable rows (or none finite); they carry no "
                             "information (often a fill value or a failed upstream step). Remove them from "
                             "`features` or fix the column.")
        probe = self.make_estimator()
        rng = ctx.rng("split")
        plan = plan_folds(len(Xu), cfg.policy, folds=cfg.folds, train_fraction=cfg.train_fraction,
                          max_train_rows=cfg.max_train_rows, rng=rng) if len(Xu) >= 2 else []
        smallest = min((len(f.train) for f in plan), default=0)
        if not plan or smallest < probe.min_rows or any(len(f.score) == 0 for f in plan):
            dropped = f" ({n_bad} dropped for NaN/inf)" if cfg.nan_policy == "drop" and n_bad else ""
            raise StageError(f"detector '{step}' ({self.name}) has too few rows: {len(Xu)} usable of {len(X)}"
                             f"{dropped}; with policy {cfg.policy} the smallest training set would have {smallest} "
                             f"rows, and this model needs at least {probe.min_rows} (and every split must leave "
                             "rows to score). Use more rows, fewer folds or policy fit_all.")

        scores_u = np.full(len(Xu), np.nan)
        insample_u = np.zeros(len(Xu), bool)
        models: list[FittedModel] = []
        t0 = time.perf_counter()
        n_fits = len(plan) + (1 if cfg.policy == "kfold" and cfg.save_model else 0)
        with ctx.progress(f"{step}: fitting {n_fits} model(s)", total=n_fits) as advance:
            for i, fold in enumerate(plan):
                model = FittedModel.fit(Xu[fold.train], cfg.features, self.make_estimator(),
                                        nan_policy=cfg.nan_policy, seed=ctx.step_seed(f"fold{i}"))
                scores_u[fold.score] = model.score(Xu[fold.score], cfg.chunk_rows)
                insample_u[np.intersect1d(fold.train, fold.score, assume_unique=True)] = True
                models.append(model)
                advance(1)
            final_rows = final_training_rows(len(Xu), cfg.policy, cfg.max_train_rows, rng)
            if final_rows is not None and cfg.save_model:
                final = FittedModel.fit(Xu[final_rows], cfg.features, self.make_estimator(),
                                        nan_policy=cfg.nan_policy, seed=ctx.step_seed("final"))
                advance(1)
            else:
                final = models[0]
        fit_seconds = time.perf_counter() - t0

        score = np.full(len(X), np.nan)
        score[rows] = scores_u
        insample = np.zeros(len(X), bool)
        insample[rows] = insample_u
        cut = threshold_cut(score, cfg.threshold)
        flag = apply_cut(score, cut, cfg.threshold.upper)

        policy_text = describe_policy(cfg.policy, folds=cfg.folds, train_fraction=cfg.train_fraction,
                                      max_train_rows=cfg.max_train_rows)
        description = f"{self.score_meaning(len(cfg.features))}; {policy_text}"
        if cfg.nan_policy == "drop" and n_bad:
            description += "; rows with NaN/inf features: NaN"
        saved_text = ("final model fitted on all usable rows" + (f" (random sample of {len(final_rows)})"
                      if cfg.max_train_rows and len(final_rows) < len(Xu) else "") +
                      " after the out-of-fold scoring; the run's scores are out-of-fold, this model's scores on the "
                      "same rows would be in-sample") if cfg.policy == "kfold" else \
            "the single model of the run (the one that produced the scores)"
        summary = {"policy": cfg.policy, "policy_description": policy_text, "features": list(cfg.features),
                   "n_models": len(plan), "n_usable": int(len(Xu)), "n_nonfinite_rows": n_bad,
                   "train_rows_per_model": [int(len(f.train)) for f in plan],
                   "fit_and_score_seconds": round(fit_seconds, 3),
                   "threshold": {"rule": cfg.threshold.describe(), "cut": cut, "upper": cfg.threshold.upper}}
        histories = [(f"fold {i + 1}" if len(plan) > 1 else "model", m.estimator.history)
                     for i, m in enumerate(models) if m.estimator.history]
        if final is not models[0] and final.estimator.history:
            histories.append(("final", final.estimator.history))
        if histories:
            summary["epochs_run"] = {label: h["epochs_run"] for label, h in histories}

        folder = ctx.artifact_dir("models") if cfg.save_model else None
        if folder is not None:
            from .saved import save_model

            save_model(final, folder, {
                "component": self.name, "step": step, "config": cfg.model_dump(mode="json"),
                "feature_units": {f: table.info[f].unit for f in cfg.features},
                "id_column": table.id_column, "score_description": description,
                "saved_model": saved_text, "seed": ctx.seed,
                "threshold": {"rule": cfg.threshold.describe(), "method": cfg.threshold.method,
                              "value": cfg.threshold.value, "cut": cut, "upper": cfg.threshold.upper}})
            # relative to the run folder: the staging folder is moved into place when the run succeeds
            rel = str(folder.relative_to(ctx.workdir)) if folder.is_relative_to(ctx.workdir) else str(folder)
            summary["model_dir"] = rel
            summary["saved_model"] = saved_text
            ctx.record("model", {"dir": rel, "saved_model": saved_text})

        if histories:
            ctx.save_figure(loss_curves_figure(histories, f"{step} ({self.name}) loss"), "loss_curves",
                            caption=f"Training (solid) and validation (dashed) loss per epoch for each model of "
                                    f"{step}; thin vertical lines mark the best validation epoch (weights kept).")
        ctx.save_figure(score_histogram_figure(score, cut, f"{step} ({self.name}) scores", "score"),
                        "score_histogram", caption=f"Scores of {step}: {description}. Red line: flag threshold "
                        f"({cfg.threshold.describe()}).")
        if ctx.figures_enabled and hasattr(final.estimator, "reconstruct"):
            self._reconstruction_figure(X, rows, flag, final, final is not models[0], table, ctx, step, policy_text)
        cols = Columns().add(f"insample_{step}", insample,
                             description=f"True where the {step} score comes from a model trained on that row")
        return Detection(score=score, flag=flag, score_description=description, columns=cols, summary=summary)

    def _reconstruction_figure(self, X, rows, flag, model: FittedModel, is_final: bool, table: Table, ctx,
                               step: str, policy_text: str) -> None:
        """Inputs against ``model``'s reconstructions for up to RECONSTRUCTION_ROWS usable rows (ctx.rng sample)."""
        cfg = self.config
        sample = rows if len(rows) <= RECONSTRUCTION_ROWS else \
            np.sort(ctx.rng("reconstruction").choice(rows, size=RECONSTRUCTION_ROWS, replace=False))
        inputs = X[sample]
        recon = model.reconstruct(inputs, cfg.chunk_rows)
        if is_final:
            which = (f"the saved final model (fitted on {model.n_train} of the {len(rows)} usable rows after the "
                     "out-of-fold scoring)")
        elif cfg.policy == "kfold":
            which = f"the fold-1 model (save_model is off, so no final model; trained on {model.n_train} rows)"
        else:
            which = (f"the run's single model, the one that scored it (trained on {model.n_train} of the "
                     f"{len(rows)} usable rows)")
        shown = f"a random sample of {len(sample)}" if len(sample) < len(rows) else f"all {len(sample)}"
        units = [table.info[f].unit or "" for f in cfg.features]
        fig = reconstruction_figure(inputs, recon, flag[sample], list(cfg.features), units,
                                    f"{step} ({self.name}): inputs vs reconstructions")
        ctx.save_figure(fig, "reconstruction", caption=(
            f"Inputs (x) against reconstructions (y) per feature for {shown} usable rows of {step}, reconstructed "
            f"by {which}; 2D histograms with log colour, dashed line y = x, flagged rows in red. Rows that model "
            f"trained on are reconstructed in-sample; the run's scores are {policy_text}."))
