"""toolkit: find unusual stars in survey catalogues and check whether they are real physics.

The code lives in the top-level folders core/, plugins/, catalogs/ and recipes/,
mapped into this one namespace by pyproject.toml (``toolkit.core`` and so on).
"""

__version__ = "0.1.0"
