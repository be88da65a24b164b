"""The review app over HTTP: API, bad input (not a run, no candidates, traversal, port in use), CLI."""

from __future__ import annotations

import http.client
import json
import socket
import threading
import urllib.error
import urllib.request
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from toolkit.core import ToolkitError
from toolkit.plugins.review.server import ReviewApp, is_loopback, make_server


def get_json(base, path):
    with urllib.request.urlopen(base + path) as r:
        return json.loads(r.read())


def post_json(base, path, body):
    req = urllib.request.Request(base + path, json.dumps(body).encode(), {"Content-Type": "application/json"})
    with urllib.request.urlopen(req) as r:
        return json.loads(r.read())


def http_error(fn, *args):
    with pytest.raises(urllib.error.HTTPError) as exc:
        fn(*args)
    return exc.value.code, json.loads(exc.value.read())["error"]


def raw_get(base, path):
    """A request line sent as written (urllib would normalise '..' away)."""
    host, port = base.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    conn.putrequest("GET", path, skip_accept_encoding=True)
    conn.endheaders()
    res = conn.getresponse()
    return res.status, res.read()


def test_list_candidate_and_diagrams(review_run, serve):
    base, app = serve(review_run)
    info = get_json(base, "/api/run")
    assert info["mock"] and info["n_rows"] == 6000 and info["n_flagged"] == 120
    assert info["detectors"] == ["ae"] and {"hr", "toomre", "pair"} <= set(info["diagrams"])
    assert "halo_like" in [v["name"] for v in info["verdicts"]]
    page = get_json(base, "/api/candidates?ranking=ae&flag=ae&limit=10")
    assert page["total"] == 120 and [r["rank"] for r in page["rows"]] == list(range(1, 11))
    scores = [r["score"] for r in page["rows"]]
    assert scores == sorted(scores, reverse=True)
    halo = get_json(base, "/api/candidates?flag=any&verdict=halo_like&limit=500")
    assert 0 < halo["total"] < 120 and all("halo_like" in r["verdicts"] for r in halo["rows"])
    one = page["rows"][0]["id"]
    assert get_json(base, f"/api/candidates?q={one}")["rows"][0]["id"] == one
    d = get_json(base, f"/api/candidate?id={one}")
    values = {v["name"]: v for v in d["values"]}
    assert values["v_x"]["unit"] == "km / s" and values["parallax"]["unit"] == "mas"
    assert "truth_population" not in values                      # the truth stays hidden from the person
    assert {o["name"] for o in d["orbit"]} >= {"orbit_zmax", "halo_like"}
    assert any("simbad" in link["url"] for link in d["links"])
    ex = get_json(base, f"/api/explain?id={one}")["explain"]["ae"]
    shares = [f["share"] for f in ex["features"]]
    assert len(shares) == 9 and abs(sum(shares) - 1) < 1e-6 and shares == sorted(shares, reverse=True)
    for kind in ("hr", "toomre", "pair&x=v_x&y=v_y"):
        with urllib.request.urlopen(f"{base}/api/plot?kind={kind}&id={one}") as r:
            assert r.headers["Content-Type"] == "image/png" and r.read()[:4] == b"\x89PNG"
    assert http_error(get_json, base, "/api/candidate?id=42")[0] == 404
    code, msg = http_error(get_json, base, "/api/candidates?ranking=nope")
    assert code == 400 and "unknown ranking 'nope'" in msg


def test_labels_over_http_and_restart(review_run, serve):
    base, app = serve(review_run)
    ids = [r["id"] for r in get_json(base, "/api/candidates?limit=3")["rows"]]
    for sid, lab in zip(ids, ["interesting", "boring", "artefact"]):
        post_json(base, "/api/label", {"id": sid, "label": lab, "note": f"n{sid}", "detector": "ae"})
    code, msg = http_error(post_json, base, "/api/label", {"id": ids[0], "label": "wow"})
    assert code == 400 and "unknown label" in msg
    assert http_error(post_json, base, "/api/label", {"id": "123", "label": "boring"})[0] == 404
    base2, _ = serve(review_run)                                        # a second server = a restart
    got = {r["id"]: r["label"] for r in get_json(base2, "/api/labels")}
    assert got == dict(zip(ids, ["interesting", "boring", "artefact"]))
    assert get_json(base2, "/api/candidates?label=labelled")["total"] == 3
    with urllib.request.urlopen(base2 + "/api/labels.csv") as r:
        text = r.read().decode()
    assert text.splitlines()[0] == "id,label,note,detector,time" and f"n{ids[1]}" in text


def test_two_tabs_labelling_the_same_candidate(review_run, serve):
    """Concurrent writes: the last write for the star wins, no other star's label is lost."""
    base, _ = serve(review_run)
    ids = [r["id"] for r in get_json(base, "/api/candidates?limit=40")["rows"]]
    target, others = ids[0], ids[1:]

    def tab(k):
        for sid in others[k::2]:
            post_json(base, "/api/label", {"id": sid, "label": "boring"})
            post_json(base, "/api/label", {"id": target, "label": "known" if k else "interesting"})

    threads = [threading.Thread(target=tab, args=(k,)) for k in (0, 1)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    post_json(base, "/api/label", {"id": target, "label": "artefact", "note": "last"})
    df = pd.read_parquet(review_run / "labels.parquet")
    assert len(df) == 40 and df["id"].is_unique
    assert df.set_index(df["id"].astype(str)).loc[target, "label"] == "artefact"
    assert set(df.loc[df["id"].astype(str) != target, "label"]) == {"boring"}


def test_rerank_refits_and_is_kept(review_run, serve):
    base, app = serve(review_run)
    code, msg = http_error(post_json, base, "/api/rerank", {"method": "review.relevance"})
    assert code == 400 and "no labels" in msg
    truth = app.view.data["truth_population"].to_numpy()
    rows = get_json(base, "/api/candidates?limit=30")["rows"]
    for r in rows:
        interesting = truth[app.view.row(r["id"])] in ("halo", "hypervelocity")
        post_json(base, "/api/label", {"id": r["id"], "label": "interesting" if interesting else "boring"})
    for method in ("review.relevance", "review.active_forest"):
        out = post_json(base, "/api/rerank", {"method": method})
        assert out["ranking"] == method and out["n_labels"] == 30
        page = get_json(base, f"/api/candidates?ranking={method}&limit=5")
        assert page["ranking"] == method and len(page["rows"]) == 5
    assert (review_run / "reranked.parquet").is_file()
    log = json.loads((review_run / "reranked.json").read_text())["reranks"]
    assert len(log[-1]["labelled_ids"]) == 30
    base2, _ = serve(review_run)                  # re-ranks survive a restart
    assert {"review.relevance", "review.active_forest"} <= {r["name"] for r in get_json(base2, "/api/run")["rankings"]}
    assert http_error(post_json, base, "/api/rerank", {"method": "magic"})[0] == 400


def test_paths_outside_the_run_folder_are_refused(review_run, serve, tmp_path):
    base, _ = serve(review_run)
    (tmp_path / "secret.txt").write_text("secret")
    (review_run / "link").symlink_to(tmp_path / "secret.txt")
    status, _ = raw_get(base, "/files/manifest.json")
    assert status == 200
    for path in ["/files/../secret.txt", "/files/%2e%2e/secret.txt", "/files/..%2Fsecret.txt",
                 "/files//etc/passwd", "/files/link", "/static/../server.py", "/static/%2e%2e/plugin.py"]:
        status, body = raw_get(base, path)
        assert status in (403, 404), path
        assert b"secret" not in body.replace(b"secret.txt", b"") and b"import" not in body
    status, body = raw_get(base, "/files/../secret.txt")
    assert status == 403 and b"outside the run folder" in body


def test_not_a_run_folder(tmp_path):
    with pytest.raises(ToolkitError, match="is not a run folder: manifest.json and scored.parquet missing"):
        ReviewApp(tmp_path)
    with pytest.raises(ToolkitError, match="is not a folder"):
        ReviewApp(tmp_path / "nowhere")


def test_a_run_without_candidates(review_run):
    df = pd.read_parquet(review_run / "scored.parquet")
    df["flag_ae"] = False
    df.to_parquet(review_run / "scored.parquet")
    man = json.loads((review_run / "manifest.json").read_text())
    man["rows"]["candidates"] = 0
    (review_run / "manifest.json").write_text(json.dumps(man))
    with pytest.raises(ToolkitError, match="has no candidates: no detector flagged a star"):
        ReviewApp(review_run)


def test_a_port_in_use_is_a_clear_error(review_run_master):
    app = ReviewApp(review_run_master)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        with pytest.raises(ToolkitError, match=f"port {port} on 127.0.0.1 is already in use.*--port"):
            make_server(app, "127.0.0.1", port)


def test_loopback_detection():
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.5")


def _cli():
    from toolkit.core import cli

    cli.register_plugin_commands()
    return cli.app


def test_review_is_a_plugin_command_with_exit_status_2_on_bad_input(tmp_path, review_run_master):
    app = _cli()
    runner = CliRunner()
    res = runner.invoke(app, ["review", "--help"])
    assert res.exit_code == 0 and "--port" in res.output and "--host" in res.output
    res = runner.invoke(app, ["review", str(tmp_path)])
    text = " ".join(res.output.split())      # rich wraps long lines
    assert res.exit_code == 2 and "is not a run folder" in text and "Traceback" not in text
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        res = runner.invoke(app, ["review", str(review_run_master), "--port", str(port)])
    assert res.exit_code == 2 and "already in use" in " ".join(res.output.split())


def test_core_does_not_import_the_review_plugin():
    text = (Path(__file__).resolve().parents[2] / "core" / "cli.py").read_text()
    assert "review" not in text


def test_other_sites_cannot_post_or_rebind(review_run, serve):
    """A page on another site can send only 'simple' requests: a non-JSON POST and a foreign Host are refused."""
    base, _ = serve(review_run)
    sid = get_json(base, "/api/candidates?limit=1")["rows"][0]["id"]
    req = urllib.request.Request(base + "/api/label", json.dumps({"id": sid, "label": "boring"}).encode(),
                                 {"Content-Type": "text/plain"})
    code, msg = http_error(urllib.request.urlopen, req)
    assert code == 415 and "Content-Type: application/json" in msg
    req = urllib.request.Request(base + "/api/run", headers={"Host": "evil.example:8765"})
    assert http_error(urllib.request.urlopen, req)[0] == 403
    assert not (review_run / "labels.parquet").exists()


def test_a_host_other_than_loopback_warns(tmp_path):
    res = CliRunner().invoke(_cli(), ["review", str(tmp_path), "--host", "0.0.0.0"])
    text = " ".join(res.output.split())
    assert "not a loopback address" in text and res.exit_code == 2


def test_disabling_the_plugin_removes_the_command():
    """The core offers `review` only through the plugin's toolkit_register_commands hook."""
    import os
    import subprocess
    import sys

    run = lambda env: subprocess.run([sys.executable, "-c", "from toolkit.core.cli import main; main()", "--help"],
                                     capture_output=True, text=True, env={**os.environ, **env}, timeout=300)
    on, off = run({}), run({"TOOLKIT_DISABLE_PLUGINS": "toolkit.review"})
    assert on.returncode == 0 and off.returncode == 0
    assert " review " in on.stdout and " review " not in off.stdout and " run " in off.stdout
