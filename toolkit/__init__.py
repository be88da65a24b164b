"""toolkit: find unusual stars in survey catalogues and check whether they are real physics.

The code lives in the top-level folders core/, plugins/, catalogs/ and recipes/,
mapped into this one namespace by pyproject.toml (``toolkit.core`` and so on).

From Python (a notebook, a script)::

    import toolkit
    run = toolkit.run("gaia_kinematic", out="runs/gk", set={"detectors.0.with.epochs": 5}, seed=7)
    run.candidates          # an astropy Table with units
    toolkit.load_run("runs/gk")

``run``, ``load_run`` and ``Run`` come from ``toolkit.core.python_api``; they are
imported on first use, so ``import toolkit`` stays light.
"""

__version__ = "0.1.0"

__all__ = ["run", "load_run", "Run", "__version__"]

_PYTHON_API = ("run", "load_run", "Run")


def __getattr__(name: str):
    if name in _PYTHON_API:
        from toolkit.core import python_api

        return getattr(python_api, name)
    raise AttributeError(f"module 'toolkit' has no attribute {name!r}")


def __dir__():
    return sorted([*globals(), *_PYTHON_API])
