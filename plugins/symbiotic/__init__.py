"""Symbiotic-star candidates from SkyMapper + 2MASS + AllWISE photometry.

Files: ``bands`` (column names and extinction coefficients), ``mock`` (synthetic
giants with injected symbiotic systems), ``mock_known`` (the matching "known
catalogue"), ``dust_maps`` + ``extinction`` (E(B-V) and corrected magnitudes),
``cuts`` (the seed's cut3/cut4), ``nightly_colours`` (per-night weighted colours),
``epochs`` (where per-epoch rows come from), ``figures`` (the seed's plots).
"""
