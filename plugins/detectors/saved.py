"""Saving a fitted model to a folder, loading it back, and scoring a new table with it.

A model folder holds:

- ``model.json``: format version, component and step name, estimator kind and
  parameters, feature list (with units), detector config, preprocessor
  parameters, the threshold (method and the numeric cut used in the run),
  which rows trained it, loss history, library versions;
- ``arrays.npz``: every numeric array (network weights, scaler mean/scale,
  imputation medians, PCA components), read with ``allow_pickle=False``;
- ``objects.pkl``: only for scikit-learn/PyOD models that have no array form
  (isolation forest, LOF, PyOD). Unpickling runs code: load only model folders
  you trust.
"""

from __future__ import annotations

import importlib
import json
import pickle
import platform
from pathlib import Path

import numpy as np

from toolkit.core import StageError, Table, ToolkitError
from toolkit.core.io import atomic_write, json_default

from .model import DEFAULT_CHUNK_ROWS, FittedModel
from .preprocess import Preprocessor, feature_matrix
from .thresholds import ThresholdConfig, apply_cut, threshold_cut

FORMAT_VERSION = 1

#: estimator kind -> "module:class" (imported only when a model of that kind is loaded)
ESTIMATORS = {
    "autoencoder": "toolkit.plugins.detectors.autoencoder:AutoencoderEstimator",
    "vae": "toolkit.plugins.detectors.vae:VAEEstimator",
    "isolation_forest": "toolkit.plugins.detectors.baselines:IsolationForestEstimator",
    "lof": "toolkit.plugins.detectors.baselines:LOFEstimator",
    "pca": "toolkit.plugins.detectors.baselines:PCAEstimator",
    "pyod": "toolkit.plugins.detectors.baselines:PyODEstimator",
}


def library_versions(extra: dict | None = None) -> dict[str, str]:
    import sklearn

    import toolkit

    out = {"python": platform.python_version(), "numpy": np.__version__, "scikit-learn": sklearn.__version__,
           "toolkit": getattr(toolkit, "__version__", "unknown")}
    out.update(extra or {})
    return out


def save_model(model: FittedModel, folder: Path | str, info: dict) -> Path:
    """Write ``model`` into ``folder`` (each file atomically); ``info`` goes into model.json."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    est_state = model.estimator.get_state()
    pre_state = model.preprocessor.get_state()
    arrays = {f"estimator/{k}": np.asarray(v) for k, v in est_state.get("arrays", {}).items()}
    arrays.update({f"preprocess/{k}": np.asarray(v) for k, v in pre_state["arrays"].items()})
    doc = {
        "format_version": FORMAT_VERSION,
        **info,
        "features": model.features,
        "n_train": model.n_train,
        "estimator": {"kind": model.estimator.kind, "params": est_state.get("params", {})},
        "preprocess": pre_state["params"],
        "history": model.estimator.history,
        "versions": library_versions(model.estimator.versions()),
        "files": ["model.json", "arrays.npz"] + (["objects.pkl"] if est_state.get("objects") else []),
    }
    def write_arrays(path: Path) -> None:
        with open(path, "wb") as f:
            np.savez(f, **arrays)

    atomic_write(folder / "arrays.npz", write_arrays)
    if est_state.get("objects"):
        atomic_write(folder / "objects.pkl", lambda p: p.write_bytes(pickle.dumps(est_state["objects"], protocol=4)))
    text = json.dumps(doc, indent=2, default=json_default)
    atomic_write(folder / "model.json", lambda p: p.write_text(text))
    return folder


def _estimator_class(kind: str):
    target = ESTIMATORS.get(kind)
    if target is None:
        raise ToolkitError(f"saved model has unknown estimator kind '{kind}'; known: {', '.join(ESTIMATORS)}")
    module, cls = target.split(":")
    return getattr(importlib.import_module(module), cls)


def load_model(folder: Path | str) -> tuple[FittedModel, dict]:
    """Read a model folder; returns the model and the parsed model.json."""
    folder = Path(folder)
    meta_path = folder / "model.json"
    if not meta_path.is_file():
        raise ToolkitError(f"'{folder}' is not a saved model folder: model.json is missing. A run writes its "
                           "models under <run folder>/models/<detector step name>/")
    doc = json.loads(meta_path.read_text())
    if doc.get("format_version") != FORMAT_VERSION:
        raise ToolkitError(f"{meta_path}: model format version {doc.get('format_version')} is not supported "
                           f"(this toolkit reads version {FORMAT_VERSION})")
    with np.load(folder / "arrays.npz", allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    objects = {}
    if (folder / "objects.pkl").is_file():
        objects = pickle.loads((folder / "objects.pkl").read_bytes())
    est_arrays = {k.split("/", 1)[1]: v for k, v in arrays.items() if k.startswith("estimator/")}
    pre_arrays = {k.split("/", 1)[1]: v for k, v in arrays.items() if k.startswith("preprocess/")}
    estimator = _estimator_class(doc["estimator"]["kind"]).from_state(
        {"params": doc["estimator"]["params"], "arrays": est_arrays, "objects": objects})
    estimator.history = doc.get("history")
    pre = Preprocessor.from_state({"params": doc["preprocess"], "arrays": pre_arrays})
    return FittedModel(list(doc["features"]), pre, estimator, n_train=doc.get("n_train", 0), meta=doc), doc


def _read_any_table(path: Path, id_column: str | None) -> Table:
    """Read Parquet with pandas, anything else with astropy; keep ``id_column`` only when the file has it."""
    path = Path(path)
    if not path.is_file():
        raise StageError(f"table file '{path}' does not exist")
    if path.suffix.lower() in (".parquet", ".pq"):
        import pandas as pd

        df = pd.read_parquet(path)
        return Table(df, id_column=id_column if id_column in df.columns else "row_id")
    from toolkit.core.io import read_table

    tab = read_table(path)
    return Table.from_astropy(tab, id_column=id_column if id_column in tab.colnames else None)


def parse_threshold_option(text: str | None) -> dict | None:
    """``"top_fraction:0.02"`` / ``"fixed:40"`` / ``"mad:5"`` / ``"top_k:100"`` / ``"none"`` -> threshold dict.

    For the ``--threshold`` option of ``toolkit score`` (None: use the cut saved with the model).
    """
    if text is None or text == "":
        return None
    method, _, value = text.partition(":")
    try:
        cfg = ThresholdConfig(method=method.strip(), value=float(value) if value else None)
    except Exception as exc:
        raise ToolkitError(f"--threshold '{text}': {exc}. Use METHOD:VALUE, e.g. top_fraction:0.02, fixed:40, "
                           "mad:5, top_k:100, or none") from None
    return cfg.model_dump()


def score_saved_model(model_dir: Path | str, table_path: Path | str, out_dir: Path | str, *,
                      threshold: ThresholdConfig | dict | None = None, name: str | None = None,
                      id_column: str | None = None, chunk_rows: int = DEFAULT_CHUNK_ROWS,
                      force: bool = False) -> dict:
    """Score a table with a saved model; write ``scored.parquet``, ``flagged.parquet``, ``score_summary.json``.

    The table must hold every feature the model was trained on (a StageError
    names the missing ones). Flags use the numeric cut saved with the model
    unless ``threshold`` asks for another rule, which is then applied to the
    new scores. Columns are ``score_<step>``/``flag_<step>`` (``..._rescored``
    when the table already has them, e.g. a run's own scored table). Output files are written atomically; an existing ``out_dir``
    that already holds ``scored.parquet`` is refused unless ``force``.
    """
    model, doc = load_model(model_dir)
    table_path, out_dir = Path(table_path), Path(out_dir)
    if (out_dir / "scored.parquet").exists() and not force:
        raise ToolkitError(f"'{out_dir}' already holds scored.parquet; pick another --out or pass --force")
    table = _read_any_table(table_path, id_column or doc.get("id_column"))
    missing = [f for f in model.features if f not in table.data.columns]
    if missing:
        raise StageError(f"table '{table_path}' lacks the feature column(s) the model in '{model_dir}' was trained "
                         f"on: {', '.join(repr(m) for m in missing)}. The model needs: {', '.join(model.features)}. "
                         "Compute them with the same features as the training recipe first.")
    X = feature_matrix(table, model.features, f"score with {model_dir}")
    scores = model.score(X, chunk_rows)
    saved_thr = doc.get("threshold", {})
    if threshold is None:
        cut, upper, rule = saved_thr.get("cut"), saved_thr.get("upper"), f"saved cut from the run ({saved_thr.get('rule')})"
    else:
        cfg = threshold if isinstance(threshold, ThresholdConfig) else ThresholdConfig(**threshold)
        cut, upper, rule = threshold_cut(scores, cfg), cfg.upper, cfg.describe() + " (on these scores)"
    flags = apply_cut(scores, cut, upper)
    step = name or doc.get("step") or doc["estimator"]["kind"]
    df = table.data.copy()
    score_col, flag_col = f"score_{step}", f"flag_{step}"
    if score_col in df.columns or flag_col in df.columns:   # e.g. a run's own scored table: keep its scores
        score_col, flag_col = f"{score_col}_rescored", f"{flag_col}_rescored"
    df[score_col] = scores
    df[flag_col] = flags
    order = np.argsort(-scores[flags], kind="stable")
    flagged = df[flags].iloc[order]
    out_dir.mkdir(parents=True, exist_ok=True)
    atomic_write(out_dir / "scored.parquet", lambda p: df.to_parquet(p, index=False))
    atomic_write(out_dir / "flagged.parquet", lambda p: flagged.to_parquet(p, index=False))
    summary = {"model_dir": str(model_dir), "table": str(table_path), "rows": int(len(df)),
               "scored": int(np.isfinite(scores).sum()), "flagged": int(flags.sum()), "score_column": score_col,
               "flag_column": flag_col, "score_description": doc.get("score_description", ""),
               "threshold": {"rule": rule, "cut": cut, "upper": upper},
               "note": "scores come from the saved model (see model.json 'saved_model'), not out-of-fold"}
    atomic_write(out_dir / "score_summary.json", lambda p: p.write_text(json.dumps(summary, indent=2,
                                                                                    default=json_default)))
    return summary
