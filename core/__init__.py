"""toolkit.core: hook specs, plugin manager, recipe model, runner, run folder and CLI.

Plugin authors need only what this module exports.
"""

from .component import (Catalog, Component, Config, Cut, Detection, Detector, Feature, Field, FittedDetector,
                        Source, Validation, Validator)
from .context import RunContext, cache_dir
from .errors import PluginError, RecipeError, SourceUnavailable, StageError, ToolkitError
from .executors import rechunk
from .expr import Expression
from .hats import hats_units, write_hats
from .models import ModelError, ModelFiles
from .registry import get_registry, hookimpl
from .sampling import fold_of, row_hash, sample_hash, unit_interval
from .thresholds import ThresholdConfig, apply_cut, threshold_cut
from .table import ROW_ID, TRUTH_COLUMN, ColumnInfo, Columns, Table

__all__ = [
    "Catalog", "Component", "Config", "Cut", "Detection", "Detector", "Feature", "Field", "FittedDetector", "Source",
    "Validation", "Validator", "RunContext", "cache_dir", "PluginError", "RecipeError",
    "SourceUnavailable", "StageError", "ToolkitError", "Expression", "get_registry", "hookimpl",
    "ROW_ID", "TRUTH_COLUMN", "ColumnInfo", "Columns", "Table", "ModelError", "ModelFiles", "fold_of", "row_hash", "sample_hash",
    "unit_interval", "rechunk", "ThresholdConfig", "apply_cut", "threshold_cut", "hats_units", "write_hats",
]
