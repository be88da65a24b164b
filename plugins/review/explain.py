"""Why a star scored high: per-feature share of its reconstruction error, from the run's saved model.

Only models with a ``reconstruct`` (autoencoder, VAE) that are stored as plain arrays are
loaded: a model folder with ``objects.pkl`` (scikit-learn forests) is never unpickled here.
The saved model is the one fitted on all rows after the out-of-fold scoring (see model.json),
so its errors are in-sample for the star; the page says so.
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
                if (folder / "objects.pkl").exists():
                    why = f"the saved model of {step} is a pickled {doc.get('estimator', {}).get('kind')}; " \
                          "it is not loaded (unpickling runs code)"
                else:
                    try:
                        from toolkit.plugins.detectors.saved import load_model
                        model, _ = load_model(folder)
                        if not hasattr(model.estimator, "reconstruct"):
                            model, why = None, f"{doc['estimator']['kind']} has no reconstruction"
                    except Exception as exc:  # a model from another version, a disabled plugin
                        model, why = None, f"cannot load models/{step}: {type(exc).__name__}: {exc}"
            self._models[step] = (model, why)
            return self._models[step]

    def explain(self, step: str, values: dict[str, float]) -> dict:
        """``{"features": [{name, value, reconstruction, share}], "note"}`` or ``{"unavailable": why}``."""
        model, why = self._model(step)
        if model is None:
            return {"unavailable": why}
        x = np.array([[values.get(f, np.nan) for f in model.features]], float)
        z = model.preprocessor.transform(x)
        if not np.isfinite(z).all():
            return {"unavailable": "the star has missing feature values"}
        r = model.estimator.reconstruct(z)
        err = (z - r)[0] ** 2
        total = float(err.sum()) or 1.0
        back = model.preprocessor.inverse_transform(r)[0]
        rows = [{"name": f, "value": float(x[0, j]), "reconstruction": float(back[j]),
                 "error": float(err[j]), "share": float(err[j] / total)} for j, f in enumerate(model.features)]
        rows.sort(key=lambda r: -r["share"])
        return {"features": rows, "total_error": float(err.sum()),
                "note": "squared error per standardised feature, from the model saved after the out-of-fold "
                        "scoring (in-sample for this star)"}
