"""Review a run's candidates in the browser and learn from the astronomer's labels.

``toolkit review RUN_DIR`` (``server.py``, ``static/``) shows the ranked candidates, their
diagrams and why they scored high; labels go to ``RUN_DIR/labels.parquet`` (``labels.py``).
``review.relevance`` (Lochner & Bassett 2021) and ``review.active_forest`` (Das et al. 2017,
through coniferest) re-rank a run with those labels; ``expert.py`` is a simulated labeller.
"""
