"""Saved detector models: plain files, listed with their sha256, loaded without running code.

A model folder holds ``model.json`` and the files a fitted detector wrote
through ``ModelFiles``. model.json names the component that made the model
(the registry finds its class to load it back, so a third-party plugin's
models load like the built-in ones), the fitted state (JSON), the feature
columns and their units, the threshold, and every file with its sha256.

Loading checks every listed file's sha256 before anything reads it, opens
only listed files (anything else in the folder, such as a planted
``objects.pkl``, is never touched) and refuses pickles unless the caller
passes ``trust_pickle=True``: unpickling runs code chosen by whoever wrote the
file. Arrays are read with ``allow_pickle=False``; scikit-learn models go
through skops with an explicit allow-list of types.
"""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path

import numpy as np

from .errors import ToolkitError
from .io import atomic_write, json_default

FORMAT_VERSION = 2
MODEL_JSON = "model.json"

#: scikit-learn internals that skops does not trust by default but that hold only arrays
SKOPS_TRUSTED = [
    "sklearn.tree._tree.Tree",
    "sklearn.metrics._dist_metrics.EuclideanDistance64",
    "sklearn.neighbors._kd_tree.KDTree",
    "sklearn.neighbors._ball_tree.BallTree",
]


class ModelError(ToolkitError):
    """A model folder that cannot be trusted or read."""


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class ModelFiles:
    """The files of one model folder, written or read by a fitted detector.

    Writing records each file's sha256 (and whether it is a pickle); reading
    returns only files that model.json lists, after checking their sha256.
    """

    def __init__(self, folder: Path | str, listed: dict | None = None, trust_pickle: bool = False) -> None:
        self.folder = Path(folder)
        self.listed: dict[str, dict] = dict(listed or {})
        self.trust_pickle = trust_pickle

    # -- writing --------------------------------------------------------
    def write_bytes(self, name: str, data: bytes, *, pickle: bool = False) -> None:
        if "/" in name or name.startswith(".") or name == MODEL_JSON:
            raise ValueError(f"model file name '{name}' must be a plain file name other than {MODEL_JSON}")
        self.folder.mkdir(parents=True, exist_ok=True)
        atomic_write(self.folder / name, lambda p: p.write_bytes(data))
        self.listed[name] = {"sha256": _sha256(data), "bytes": len(data), "pickle": bool(pickle)}

    def write_arrays(self, name: str, arrays: dict[str, np.ndarray]) -> None:
        buf = io.BytesIO()
        np.savez(buf, **{k: np.asarray(v) for k, v in arrays.items()})
        self.write_bytes(name, buf.getvalue())

    def write_json(self, name: str, value) -> None:
        self.write_bytes(name, json.dumps(value, indent=1, default=json_default).encode())

    def write_sklearn(self, name: str, model) -> None:
        """A scikit-learn estimator through skops (no pickle)."""
        import skops.io as sio

        self.write_bytes(name, sio.dumps(model))

    # -- reading --------------------------------------------------------
    def read_bytes(self, name: str) -> bytes:
        entry = self.listed.get(name)
        if entry is None:
            raise ModelError(f"{self.folder}: model.json does not list '{name}'; unlisted files are never read")
        if entry.get("pickle"):
            self._require_trust(name)
        path = self.folder / name
        if not path.is_file():
            raise ModelError(f"{path}: listed in model.json but missing")
        data = path.read_bytes()
        if _sha256(data) != entry.get("sha256"):
            raise ModelError(f"{path}: sha256 differs from the one model.json records; the file was changed or "
                             "damaged after the model was saved, so it is not loaded")
        return data

    def read_arrays(self, name: str) -> dict[str, np.ndarray]:
        try:
            with np.load(io.BytesIO(self.read_bytes(name)), allow_pickle=False) as npz:
                return {k: npz[k] for k in npz.files}
        except ModelError:
            raise
        except Exception as exc:
            raise ModelError(f"{self.folder / name}: not a readable array file ({type(exc).__name__}: {exc})") \
                from None

    def read_json(self, name: str):
        try:
            return json.loads(self.read_bytes(name))
        except ModelError:
            raise
        except ValueError as exc:
            raise ModelError(f"{self.folder / name}: not valid JSON ({exc})") from None

    def read_sklearn(self, name: str):
        import skops.io as sio

        data = self.read_bytes(name)
        untrusted = sio.get_untrusted_types(data=data)
        unknown = [t for t in untrusted if t not in SKOPS_TRUSTED]
        if unknown:
            raise ModelError(f"{self.folder / name}: holds types outside the allow-list ({', '.join(unknown)}); "
                             "refusing to load it")
        return sio.loads(data, trusted=untrusted)

    def read_pickle(self, name: str):
        """Unpickle a listed file: only with trust, whatever model.json says the file is."""
        import pickle

        self._require_trust(name)
        return pickle.loads(self.read_bytes(name))

    def _require_trust(self, name: str) -> None:
        if not self.trust_pickle:
            raise ModelError(f"{self.folder / name} is a pickle. Unpickling runs code chosen by whoever wrote the "
                             "file, so it is refused by default; pass --trust-pickle (trust_pickle=True) only for "
                             "a model folder you made yourself or fully trust")


def save_model(fitted, folder: Path | str, info: dict) -> Path:
    """Write ``fitted`` (a FittedDetector) and model.json into ``folder``; ``info`` must name the component."""
    folder = Path(folder)
    files = ModelFiles(folder)
    state = fitted.save(files)
    doc = {"format_version": FORMAT_VERSION, **info, "state": state, "files": files.listed}
    text = json.dumps(doc, indent=2, default=json_default)
    atomic_write(folder / MODEL_JSON, lambda p: p.write_text(text))
    return folder


def save_for_run(component, fitted, table, threshold: dict, ctx) -> str | None:
    """Save a run's fitted detector under ``models/<step>/`` (unless its config says ``save_model: false``).

    ``table`` gives the feature units; ``threshold`` the rule and numeric cut used in the run.
    Returns the folder relative to the run folder (the staging folder moves when the run succeeds).
    """
    from .runfolder import versions

    if not getattr(component.config, "save_model", True) or ctx.workdir is None:
        return None
    folder = ctx.artifact_dir("models")
    features = list(getattr(fitted, "features", None) or getattr(component.config, "features", []))
    save_model(fitted, folder, {
        "component": component.name, "step": folder.name, "config": component.config.model_dump(mode="json"),
        "features": features, "feature_units": {f: (table.info[f].unit if f in table.info else None)
                                                for f in features},
        "id_column": table.id_column, "score_description": fitted.score_description, "seed": ctx.seed,
        "threshold": threshold, "versions": versions()})
    rel = str(folder.relative_to(ctx.workdir))
    ctx.record("model", {"dir": rel})
    return rel


REQUIRED_KEYS = {"component": str, "features": list, "files": dict, "state": dict}


def read_model_json(folder: Path | str) -> dict:
    """model.json of a model folder, checked for shape; a ModelError says what is wrong."""
    folder = Path(folder)
    path = folder / MODEL_JSON
    if not path.is_file():
        raise ModelError(f"'{folder}' is not a saved model folder: {MODEL_JSON} is missing. A run writes its models "
                         "under <run folder>/models/<detector step name>/")
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise ModelError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(doc, dict):
        raise ModelError(f"{path}: expected a JSON object, found {type(doc).__name__}")
    if doc.get("format_version") != FORMAT_VERSION:
        raise ModelError(f"{path}: model format version {doc.get('format_version')!r} is not supported (this "
                         f"toolkit reads version {FORMAT_VERSION}); re-run the recipe to save the model again")
    for key, kind in REQUIRED_KEYS.items():
        if not isinstance(doc.get(key), kind):
            raise ModelError(f"{path}: key '{key}' is missing or not a {kind.__name__}")
    units = doc.get("feature_units") or {}
    if not isinstance(units, dict) or not all(isinstance(f, str) for f in doc["features"]) or not doc["features"]:
        raise ModelError(f"{path}: 'features' must be a non-empty list of column names and 'feature_units' a mapping")
    for name, entry in doc["files"].items():
        if not isinstance(entry, dict) or not isinstance(entry.get("sha256"), str):
            raise ModelError(f"{path}: file entry '{name}' lacks its sha256")
    return doc


def load_model(folder: Path | str, registry=None, trust_pickle: bool = False):
    """Load a model folder through the component that saved it; returns (fitted detector, model.json)."""
    from .registry import get_registry

    doc = read_model_json(folder)
    registry = registry or get_registry()
    entry = registry.entries.get(registry.aliases.get(doc["component"], doc["component"]))   # a former name too
    if entry is None or entry.kind != "detector":
        raise ModelError(f"{Path(folder) / MODEL_JSON}: the model was saved by detector '{doc['component']}', which "
                         "no installed plugin provides; install the plugin that made it (see `toolkit plugins`)")
    files = ModelFiles(folder, doc["files"], trust_pickle)
    try:
        fitted = entry.cls.load(files, doc["state"])
    except ToolkitError:
        raise
    except (KeyError, ValueError, TypeError, IndexError) as exc:
        raise ModelError(f"{Path(folder) / MODEL_JSON}: the saved state does not fit detector '{doc['component']}' "
                         f"({type(exc).__name__}: {exc})") from None
    return fitted, doc
