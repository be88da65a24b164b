"""Why a star scored high: per-feature share of its reconstruction error, from the run's saved model.

Model folders load through ``toolkit.core.models`` (sha256-checked plain files, never a
pickle), and only models with a ``reconstruct`` (autoencoder, VAE) can explain. The star is
explained by the fitted model that scored it in the run (its ``fold_<step>``), so the
explanation is out-of-fold like the score; a star without a fold gets the final model. A seed
ensemble is explained by its member 0, whose folds are the run's ``fold_<step>``.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path

import numpy as np


class Explainer:
    """Loads each detector's saved model once and explains rows with it."""

    def __init__(self, run_dir: Path) -> None:
        self.run_dir = Path(run_dir)
        self._models: dict[str, object] = {}
        self._lock = threading.Lock()

    def _model(self, step: str):
        with self._lock:
            if step in self._models:
                return self._models[step]
            model, why = None, ""
            folder = self.run_dir / "models" / step
            try:
                doc = json.loads((folder / "model.json").read_text())
            except (OSError, json.JSONDecodeError):
                doc = None
                why = f"no saved model under models/{step}/"
            if doc is not None:
                try:
                    from toolkit.core import load_model

                    model, _ = load_model(folder)
                    if getattr(model, "members", None):   # a seed ensemble: its member 0 (the run's fold_<step>)
                        model = model.members[0]
                    members = getattr(model, "models", None)
                    if not members or not hasattr(members[0].estimator, "reconstruct"):
                        model, why = None, f"the detector of {step} ({doc.get('component')}) has no reconstruction"
                except Exception as exc:  # a model from another version, a disabled plugin, a damaged file
                    model, why = None, f"cannot load models/{step}: {type(exc).__name__}: {exc}"
            self._models[step] = (model, why)
            return self._models[step]

    def explain(self, step: str, values: dict[str, float]) -> dict:
        """``{"features": [{name, value, reconstruction, share}], "note"}`` or ``{"unavailable": why}``."""
        model, why = self._model(step)
        if model is None:
            return {"unavailable": why}
        fold = values.get(f"fold_{step}")
        member, which = (model.models[int(fold)], "the fold model that scored this star (out-of-fold)") \
            if fold is not None and np.isfinite(fold) and 0 <= int(fold) < len(model.models) else \
            (model.final or model.models[0], "the final model (fitted on the whole training sample)")
        x = np.array([[values.get(f, np.nan) for f in model.features]], float)
        z = member.preprocessor.transform(x)
        if not np.isfinite(z).all():
            return {"unavailable": "the star has missing feature values"}
        r = member.estimator.reconstruct(z)
        err = (z - r)[0] ** 2
        total = float(err.sum()) or 1.0
        back = member.preprocessor.inverse_transform(r)[0]
        rows = [{"name": f, "value": float(x[0, j]), "reconstruction": float(back[j]),
                 "error": float(err[j]), "share": float(err[j] / total)} for j, f in enumerate(model.features)]
        rows.sort(key=lambda r: -r["share"])
        return {"features": rows, "total_error": float(err.sum()),
                "note": f"squared error per standardised feature, from {which}"}
