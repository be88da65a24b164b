"""Thresholds live in the public core (``toolkit.core.thresholds``); this name stays for existing imports."""

from toolkit.core.thresholds import MAD_TO_SIGMA, ThresholdConfig, apply_cut, threshold_cut  # noqa: F401
