"""toolkit.core: hook specs, plugin manager, recipe model, runner, run folder and CLI.

This module is the whole public API for plugin authors: built-in plugins and catalogues import
only names exported here (``tests/test_core_layout.py`` checks it), and so can a third party.
The list below is deliberate; a name not in ``__all__`` may change without notice.
"""

from .component import (Catalog, Component, Config, Cut, Detection, Detector, Feature, Field, FittedDetector,
                        Register, Source, Validation, Validator)
from .context import Frame, RunContext, cache_dir, one_line
from .errors import DeprecatedName, PluginError, RecipeError, SourceUnavailable, StageError, ToolkitError
from .executors import rechunk
from .expr import Expression
from .io import TableChunks, atomic_write, file_sha256, is_file, json_default, read_table
from .hats import hats_units, write_hats
from .models import ModelError, ModelFiles, load_model
from .paths import missing_path, resolve_path
from .registry import get_registry, hookimpl
from .remote import (GAIA_TAP_URL, TapOptions, auto_async, batches, cache_problem, call_with_deadline, file_record,
                     query_key, tap_query, to_source_table)
from .runfolder import write_table
from .sampling import fold_of, row_hash, sample_hash, unit_interval
from .scores import (FLAG_PREFIX, SCORE_PREFIX, VOTES_PREFIX, flag_column, flag_columns, flag_for, is_flag, is_score,
                     score_column, score_columns, score_for, step_of, votes_column)
from .table import ROW_ID, TRUTH_COLUMN, ColumnInfo, Columns, Table
from .thresholds import ThresholdConfig, apply_cut, threshold_cut
from .units import column_in, quantity_in

__all__ = [
    # components and the run context they are handed
    "Catalog", "Component", "Config", "Cut", "Detection", "Detector", "Feature", "Field", "FittedDetector", "Source",
    "Validation", "Validator", "RunContext", "Frame", "Register", "hookimpl", "get_registry",
    # errors (a ToolkitError is one message and exit status 2 on the command line)
    "ToolkitError", "PluginError", "RecipeError", "SourceUnavailable", "StageError", "ModelError", "DeprecatedName",
    # tables, columns, units, the score/flag pairing
    "Table", "Columns", "ColumnInfo", "ROW_ID", "TRUTH_COLUMN", "column_in", "quantity_in", "rechunk",
    "SCORE_PREFIX", "FLAG_PREFIX", "VOTES_PREFIX", "score_column", "flag_column", "votes_column", "score_for",
    "flag_for", "step_of", "is_score", "is_flag", "score_columns", "flag_columns",
    # expressions, thresholds, seeded sampling
    "Expression", "ThresholdConfig", "apply_cut", "threshold_cut", "fold_of", "row_hash", "sample_hash",
    "unit_interval",
    # files: reading, writing atomically, hashing, paths from recipes, saved models
    "read_table", "TableChunks", "write_table", "atomic_write", "file_sha256", "is_file", "json_default",
    "missing_path", "resolve_path", "ModelFiles", "load_model", "cache_dir", "one_line", "write_hats",
    "hats_units",
    # remote services: bounded, cached, retried TAP queries
    "tap_query", "query_key", "TapOptions", "GAIA_TAP_URL", "to_source_table", "auto_async", "batches", "cache_problem",
    "call_with_deadline", "file_record",
]
