# %% [markdown]
# # A recipe from a notebook
#
# Every cell below runs as a test (tests/test_core_python_api.py), in a fresh folder, so what the
# documentation shows is what the code does. Paste the cells into Jupyter as they are.

# %% run
import toolkit

run = toolkit.run("cluster_membership", out="runs/ngc2451", seed=3110)
print(run)

# %% tables
# Tables are astropy Tables with units; the candidates come most anomalous first.
members = run.candidates
print(len(members), "candidates;", "pmra in", members["pmra"].unit)
print(members["source_id", "ra", "dec", "pmra", "pmdec", "member_of"][:5])

# %% manifest
# The manifest is a dict: the resolved recipe, seed, row counts, what each detector did.
print(run.manifest["rows"])
print("mock data:", run.is_mock)   # offline, the recipe fell back (loudly) to its synthetic field

# %% figures
# Figures are PNG files in the run folder; in Jupyter, IPython.display.Image(path) shows one.
for path in run.figures:
    print(path.name, path.stat().st_size > 0)

# %% overrides
# `set` takes dotted recipe paths, as `toolkit run --set` does; values are Python values.
run2 = toolkit.run("cluster_membership", out="runs/ngc2451_4", set={"detectors.0.with.n_components": 4})
print(run2.manifest["recipe"]["detectors"][0]["with"]["n_components"])

# %% errors
# A problem raises toolkit.core.ToolkitError with the message the command line prints; never SystemExit.
from toolkit.core import ToolkitError

try:
    toolkit.run("cluster_membership", set={"detectors.0.with.n_components": "many"})
except ToolkitError as exc:
    print("error:", str(exc).splitlines()[0])

# %% load
# A run folder written earlier, by the command line or by toolkit.run, opens with load_run.
again = toolkit.load_run("runs/ngc2451")
assert len(again.scored) == len(run.scored)
print(again.cutflow["step", "rows_in", "rows_out"])
