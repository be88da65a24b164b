"""Active learning on the gaia_kinematic mock: interesting stars among the first 340, and review speed.

Run: python benchmarks/active.py [RUN_DIR] [--batch N] [--top N] [--seeds N] [--times-only]
Without RUN_DIR it runs the recipe first (`toolkit run gaia_kinematic`, offline: the
170,000-star mock) into runs/bench-active. A simulated expert answers from the mock's truth
(halo and hypervelocity interesting, everything else boring); the learner asks about BATCH
stars at a time and refits: stars drawn at random from its current first TOP ("shortlist") or
its first unlabelled stars ("top", Astronomaly's loop). Prints, for the
unsupervised ranking and for each re-ranker after 25, 50 and 100 labels, how many of the
first TOP stars are interesting (mean over SEEDS learner seeds, and each; how many exist at
all); then the server's start-up, the page-load time (the page's first requests over HTTP)
and the re-rank time through the API.
"""

from __future__ import annotations

import argparse
import json
import os
import threading
import time
import urllib.request
from pathlib import Path

import numpy as np


def ensure_run(run_dir: Path | None) -> Path:
    if run_dir is not None:
        return run_dir
    target = Path("runs/bench-active")
    if not (target / "scored.parquet").is_file():
        from toolkit.core.run import execute

        execute("gaia_kinematic", target, force=target.exists(), show_progress=False)
    return target


def learning_curves(run_dir: Path, batch: int, top: int, seeds: int, budgets=(25, 50, 100)) -> None:
    from toolkit.plugins.review.expert import SimulatedExpert, active_learning
    from toolkit.plugins.review.rerank import Reranker
    from toolkit.plugins.review.runview import RunView

    view = RunView(run_dir)
    expert = SimulatedExpert.from_frame(view.data)
    base_name = view.detectors[0]
    feats = view.learning_features()
    X = np.column_stack([view.data[f].to_numpy(float) for f in feats])
    print(f"run {run_dir}: {len(X)} stars, {int(expert.is_interesting.sum())} interesting in all "
          f"(halo + hypervelocity; the most any top-{top} list can hold); features {', '.join(feats)}")
    base = view.rankings[base_name]
    print(f"unsupervised ({base_name}): {expert.count_interesting(base, top)} of the first {top} are interesting")
    references(view, expert, X, top)
    for strategy in ("shortlist", "top"):
        for method in ("relevance", "active_forest"):
            t0 = time.perf_counter()
            runs = [active_learning(Reranker(X, base, seed=seed, budget=top), expert, method, budgets=budgets,
                                    batch=batch, top=top, strategy=strategy, seed=seed) for seed in range(seeds)]
            dt = (time.perf_counter() - t0) / seeds
            cells = []
            for k, n_labels in enumerate(budgets):
                got = [r[k]["interesting_in_top"] for r in runs]
                cells.append(f"{n_labels} labels: {np.mean(got):.0f} ({'/'.join(map(str, got))})")
            print(f"review.{method:<14} asking {strategy:<9} " + ", ".join(cells) + f"   ({dt:.0f} s per run)")


def references(view, expert, X, top: int) -> None:
    """What is reachable at all: a classifier trained on the truth of 20,000 stars, and a speed ranking."""
    from sklearn.ensemble import RandomForestClassifier

    from toolkit.plugins.review.relevance import standardise

    Z = standardise(X)
    train = np.random.default_rng(0).choice(len(Z), size=min(20_000, len(Z)), replace=False)
    clf = RandomForestClassifier(200, min_samples_leaf=3, n_jobs=1, random_state=0)
    clf.fit(Z[train], expert.is_interesting[train])
    p = clf.predict_proba(Z)[:, 1]
    print(f"reference, not a learner: a random forest trained on the truth of {len(train)} stars finds "
          f"{expert.count_interesting(p, top)}", end="")
    d = view.data
    if {"v_x", "v_y", "v_z"} <= set(d.columns):
        speed = np.sqrt(d.v_x ** 2 + (d.v_y - d.v_y.median()) ** 2 + d.v_z ** 2).to_numpy()
        print(f"; ranking by speed relative to the median v_y finds {expert.count_interesting(speed, top)}", end="")
    print()


def page_and_rerank_times(run_dir: Path, labels: int = 100) -> None:
    """Time a page load (server start + the requests the page makes) and a re-rank, over HTTP."""
    import shutil
    import tempfile

    from toolkit.plugins.review.expert import SimulatedExpert
    from toolkit.plugins.review.server import ReviewApp, make_server

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp) / "run"
        work.mkdir()
        for name in ("manifest.json", "scored.parquet", "candidates.parquet"):
            shutil.copy(run_dir / name, work / name)
        if (run_dir / "models").is_dir():
            shutil.copytree(run_dir / "models", work / "models")
        t0 = time.perf_counter()
        app = ReviewApp(work)
        server = make_server(app, "127.0.0.1", 0)
        t_start = time.perf_counter() - t0
        app.warm_up().join()   # as `toolkit review` does before a person opens the printed address
        t_warm = time.perf_counter() - t0
        threading.Thread(target=server.serve_forever, daemon=True).start()
        base = f"http://127.0.0.1:{server.server_address[1]}"
        get = lambda p: urllib.request.urlopen(base + p).read()
        t0 = time.perf_counter()
        get("/")
        get("/static/app.js")
        info = json.loads(get("/api/run"))
        rows = json.loads(get("/api/candidates?limit=50"))["rows"]
        first = rows[0]["id"]
        get(f"/api/candidate?id={first}")
        t_list = time.perf_counter() - t0
        for kind in ("hr", "toomre"):
            get(f"/api/plot?kind={kind}&id={first}")
        f = info["features"]
        get(f"/api/plot?kind=pair&id={first}&x={f[0]}&y={f[1]}")
        t_page = time.perf_counter() - t0
        t1 = time.perf_counter()
        get(f"/api/candidate?id={rows[1]['id']}")
        for kind in ("hr", "toomre"):
            get(f"/api/plot?kind={kind}&id={rows[1]['id']}")
        t_next = time.perf_counter() - t1
        expert = SimulatedExpert.from_frame(app.view.data)
        order = np.argsort(-np.nan_to_num(app.view.rankings[info["default_ranking"]], nan=-np.inf))[:labels]
        for row, answer in zip(order, expert.label(order)):
            body = json.dumps({"id": app.view.id_text[row], "label": answer}).encode()
            urllib.request.urlopen(urllib.request.Request(base + "/api/label", body,
                                                          {"Content-Type": "application/json"})).read()
        for method in ("review.relevance", "review.active_forest"):
            t2 = time.perf_counter()
            body = json.dumps({"method": method}).encode()
            out = json.loads(urllib.request.urlopen(urllib.request.Request(
                base + "/api/rerank", body, {"Content-Type": "application/json"})).read())
            get(f"/api/candidates?ranking={out['ranking']}&limit=50")
            print(f"re-rank {method} with {out['n_labels']} labels + list refresh: {time.perf_counter() - t2:.2f} s")
        server.shutdown()
        server.server_close()
    print(f"server on {info['n_rows']} stars: run loaded and listening after {t_start:.2f} s, diagram "
          f"backgrounds rendered after {t_warm:.2f} s")
    print(f"page load: list + first candidate {t_list:.2f} s, with its three diagrams {t_page:.2f} s; "
          f"next candidate with diagrams {t_next:.2f} s")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run_dir", nargs="?", type=Path)
    ap.add_argument("--batch", type=int, default=10, help="labels per refit")
    ap.add_argument("--top", type=int, default=340, help="length of the list a person looks at first")
    ap.add_argument("--seeds", type=int, default=3, help="learner seeds (mean and each run are printed)")
    ap.add_argument("--times-only", action="store_true", help="skip the learning curves")
    args = ap.parse_args()
    run_dir = ensure_run(args.run_dir)
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    if not args.times_only:
        learning_curves(run_dir, args.batch, args.top, args.seeds)
    page_and_rerank_times(run_dir)


if __name__ == "__main__":
    main()
