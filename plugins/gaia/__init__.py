"""Gaia: sources (archive, mock), kinematic features, quality cuts and diagnostic figures."""
