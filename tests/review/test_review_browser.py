"""The page in a real headless browser (Debian's chromium + chromedriver through selenium).

Open a run, label three candidates by keyboard, restart the server, see the labels, re-rank.
Skips, saying why, where selenium, chromium or chromedriver is missing (.ci/run installs them).
"""

from __future__ import annotations

import shutil

import pandas as pd
import pytest

selenium = pytest.importorskip("selenium", reason="selenium is not installed (pip install -e '.[test]')")

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
DRIVER = shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(not (CHROMIUM and DRIVER),
                                reason="headless browser test needs chromium and chromedriver "
                                       "(apt-get install -y chromium chromium-driver)")


@pytest.fixture
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    opts = Options()
    opts.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                "--window-size=1400,1000"):
        opts.add_argument(arg)
    driver = webdriver.Chrome(service=Service(DRIVER), options=opts)
    yield driver
    driver.quit()


def wait(driver, cond, timeout=30):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout, poll_frequency=0.1).until(cond)


def open_page(driver, base):
    driver.get(base + "/")
    wait(driver, lambda d: d.execute_script("return document.body.dataset.ready") == "1")


def row_labels(driver):
    """(id, label) of every listed row, read in one script (the list may be redrawn meanwhile)."""
    return [tuple(r) for r in driver.execute_script(
        "return [...document.querySelectorAll('#list tbody tr')]"
        ".map(tr => [tr.dataset.id, tr.querySelector('.lab').textContent])")]


def start_cli(run_dir):
    """`toolkit review RUN_DIR --port 0` in its own process; returns (process, printed address)."""
    import subprocess
    import sys

    proc = subprocess.Popen([sys.executable, "-c", "from toolkit.core.cli import main; main()", "review",
                             str(run_dir), "--port", "0"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = proc.stdout.readline().strip()
    if not line.startswith("http://127.0.0.1:"):
        proc.kill()
        raise AssertionError(f"no address printed: {line!r} {proc.stderr.read()}")
    return proc, line.rstrip("/")


def test_label_by_keyboard_kill_the_server_reopen_and_rerank(review_run, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    proc, base = start_cli(review_run)
    try:
        open_page(browser, base)
        first3 = [rid for rid, _ in row_labels(browser)[:3]]
        body = browser.find_element(By.TAG_NAME, "body")
        for key in "ibk":                              # interesting, boring, known; each moves to the next star
            body.send_keys(key)
        wait(browser, lambda d: [lab for _, lab in row_labels(d)[:3]] == ["interesting", "boring", "known"])
        wait(browser, lambda d: d.execute_script("return document.body.dataset.pending") == "0")
        assert browser.find_element(By.ID, "d-id").text == row_labels(browser)[3][0]   # on the 4th star now
    finally:
        proc.kill()                                    # SIGKILL: no chance to save anything on the way out
        proc.wait(30)
    saved = pd.read_parquet(review_run / "labels.parquet")
    assert dict(zip(saved["id"].astype(str), saved["label"])) == dict(zip(first3, ["interesting", "boring", "known"]))

    proc, base = start_cli(review_run)                 # reopen
    try:
        open_page(browser, base)
        assert row_labels(browser)[:3] == list(zip(first3, ["interesting", "boring", "known"]))
        Select(browser.find_element(By.ID, "label-filter")).select_by_value("labelled")
        wait(browser, lambda d: len(row_labels(d)) == 3)
        Select(browser.find_element(By.ID, "label-filter")).select_by_value("")
        Select(browser.find_element(By.ID, "method")).select_by_value("review.relevance")
        browser.find_element(By.ID, "rerank").click()
        wait(browser, lambda d: "review.relevance" in d.find_element(By.ID, "rerank-status").text)
        assert Select(browser.find_element(By.ID, "ranking")).first_selected_option.text == "review.relevance"
        wait(browser, lambda d: "ranked by review.relevance" in d.find_element(By.ID, "list-summary").text)
        assert row_labels(browser)[0] == (first3[0], "interesting")   # the labelled interesting star leads
        assert not browser.find_element(By.ID, "notice").text
        errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE" and base in e["message"]]
        assert not errors, errors                      # (requests cut by the kill belong to the first server)
    finally:
        proc.kill()
        proc.wait(30)


def test_the_page_shows_a_damaged_labels_notice(review_run, serve, browser):
    from selenium.webdriver.common.by import By

    (review_run / "labels.parquet").write_text("garbage")
    base, _ = serve(review_run)
    open_page(browser, base)
    text = browser.find_element(By.ID, "notice").text
    assert "could not be read" in text and "labels.damaged-" in text
    plot = browser.find_element(By.ID, "plot-hr")
    wait(browser, lambda d: d.execute_script("return arguments[0].complete && arguments[0].naturalWidth > 0", plot))
