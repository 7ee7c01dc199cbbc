"""A real browser loads the rendered page from disk, a column header is clicked, rows follow raw values.

Debian's ``chromium`` runs headless and is driven over the Chrome DevTools Protocol (a websocket,
``websocket-client``); nothing is downloaded. Without chromium the test is skipped, except under
``CI`` where a missing browser is a failure. Set ``AMR_BENCH_SCREENSHOT=path.png`` to keep a
screenshot of the page.
"""

from __future__ import annotations

import base64
import itertools
import json
import os
import shutil
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from amr_bench.leaderboard.ranking import RankSettings
from amr_bench.leaderboard.render import render_site
from amr_bench.leaderboard.store import Store
from tests.leaderboard.test_render import build_board  # the same store the render tests use

pytestmark = [pytest.mark.browser, pytest.mark.slow]

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-default-apps",
    "--remote-debugging-port=0",
    "--window-size=1300,1000",
]


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    return None


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() not in ("", "0", "false", "no")


class Browser:
    """A headless chromium and one page, driven over CDP."""

    def __init__(self, binary: str, profile: Path) -> None:
        import websocket

        self.proc = subprocess.Popen(
            [binary, *FLAGS, f"--user-data-dir={profile}", "about:blank"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + 30
        while not port_file.is_file() or not port_file.read_text().strip():
            if time.monotonic() > deadline or self.proc.poll() is not None:
                self.close()
                raise RuntimeError("chromium did not start (no DevToolsActivePort)")
            time.sleep(0.05)
        port = int(port_file.read_text().split()[0])
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as resp:
            targets = json.load(resp)
        ws_url = next(t["webSocketDebuggerUrl"] for t in targets if t.get("type") == "page")
        self.ws = websocket.create_connection(ws_url, timeout=20, suppress_origin=True)
        self.ids = itertools.count(1)

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        msg_id = next(self.ids)
        self.ws.send(json.dumps({"id": msg_id, "method": method, "params": params}))
        while True:
            msg = json.loads(self.ws.recv())
            if msg.get("id") == msg_id:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return msg.get("result", {})

    def js(self, expression: str) -> Any:
        res = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        if "exceptionDetails" in res:
            raise RuntimeError(f"page script failed: {res['exceptionDetails']}")
        return res["result"].get("value")

    def open(self, url: str) -> None:
        self.call("Page.enable")
        self.call("Page.navigate", url=url)
        deadline = time.monotonic() + 20
        while self.js("document.readyState") != "complete":
            if time.monotonic() > deadline:
                raise RuntimeError(f"{url} did not finish loading")
            time.sleep(0.05)

    def click(self, selector: str) -> None:
        """A real mouse click at the centre of the element (not a synthetic el.click())."""
        box = self.js(
            f"(function(){{var e=document.querySelector({json.dumps(selector)});"
            "e.scrollIntoView({block:'center'});var r=e.getBoundingClientRect();"
            "return [r.left + r.width / 2, r.top + r.height / 2];})()"
        )
        for kind in ("mousePressed", "mouseReleased"):
            self.call("Input.dispatchMouseEvent", type=kind, x=box[0], y=box[1], button="left", clickCount=1)

    def screenshot(self, path: Path) -> None:
        data = self.call("Page.captureScreenshot", format="png", captureBeyondViewport=True)["data"]
        path.write_bytes(base64.b64decode(data))

    def close(self) -> None:
        try:
            if hasattr(self, "ws"):
                self.ws.close()
        finally:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()


@pytest.fixture(scope="module")
def browser() -> Any:
    binary = _chromium()
    if binary is None:
        if _in_ci():
            pytest.fail("chromium is not installed but CI is set: .ci/run must install Debian's chromium")
        pytest.skip("chromium not installed (apt-get install chromium); required under CI")
    pytest.importorskip("websocket", reason="websocket-client (the dev extra) drives chromium")
    with tempfile.TemporaryDirectory(prefix="amr-bench-chromium-") as profile:
        b = Browser(binary, Path(profile))
        try:
            yield b
        finally:
            b.close()


ROWS_JS = """(function(){var t=document.querySelector('section table.board.stats');
var col=%d;return Array.prototype.map.call(t.tBodies[0].rows,function(r){
return [r.cells[col].getAttribute('data-v'), r.getAttribute('data-failed')==='1',
r.cells[2].textContent];});})()"""


def test_clicking_a_header_sorts_rows_on_raw_values(browser: Browser, tmp_path: Path) -> None:
    with Store(build_board(tmp_path / "b.sqlite")) as st:
        render_site(st, tmp_path / "site", RankSettings(resamples=200))
    page = (tmp_path / "site" / "castella.html").resolve()
    browser.open(page.as_uri())
    assert browser.js("document.title").startswith("CASTELLA")
    headers = browser.js(
        "Array.prototype.map.call(document.querySelectorAll("
        "'section table.board.stats thead th'),function(h){return h.textContent;})"
    )
    col = headers.index("R1@0.7")
    team_col = headers.index("Team")

    # first click on a metric: descending on the raw value; failed rows stay last
    browser.click(f"section table.board.stats thead th:nth-child({col + 1})")
    rows = browser.js(ROWS_JS % col)
    values = [float(v) for v, failed, _ in rows if not failed]
    assert values == sorted(values, reverse=True) and len(values) == 4
    assert [failed for _, failed, _ in rows] == [False] * 4 + [True]
    assert (
        browser.js(
            f"document.querySelector('section table.board.stats thead th:nth-child({col + 1})')"
            ".getAttribute('aria-sort')"
        )
        == "descending"
    )

    # second click: ascending; 0.095 sorts before 0.105 and 1.0 (a string sort of "9.50",
    # "10.50", "100.00" would not), failed still last
    browser.click(f"section table.board.stats thead th:nth-child({col + 1})")
    rows = browser.js(ROWS_JS % col)
    values = [float(v) for v, failed, _ in rows if not failed]
    assert values == [0.095, 0.095, 0.105, 1.0]
    assert rows[-1][1] is True

    # a text column sorts on the team names as text (the escaped <script> name is plain text)
    browser.click(f"section table.board.stats thead th:nth-child({team_col + 1})")
    rows = browser.js(ROWS_JS % team_col)
    names = [v for v, failed, _ in rows if not failed]
    assert names == sorted(names, key=str.lower)
    assert any("<script>" in text for _, _, text in rows)  # shown as text, never executed
    assert browser.js("typeof window.alert") == "function"

    shot = os.environ.get("AMR_BENCH_SCREENSHOT")
    if shot:
        browser.click(f"section table.board.stats thead th:nth-child({col + 1})")
        browser.screenshot(Path(shot))


def _explorer_site(tmp_path: Path) -> Path:
    """A store with two benchmarks, windows stored for the explorer, and a long system name."""
    from amr_bench.groundtruth import load_ground_truth
    from amr_bench.leaderboard.results import add_records

    gt_path = tmp_path / "gt.jsonl"
    rows = [
        {"qid": i, "query": f"query {i}", "vid": "v", "duration": 30.0, "relevant_windows": [[5.0, 15.0]]}
        for i in range(30)
    ]
    gt_path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    gt = load_ground_truth(gt_path)
    with Store(build_board(tmp_path / "b.sqlite")) as st:
        for k, shift in enumerate((0.0, 3.0)):
            preds = [
                {"qid": i, "pred_relevant_windows": [[5.0 + shift * (i % 4), 15.0 + shift * (i % 4)], [0.0, 2.0]]}
                for i in range(30)
            ]
            add_records(
                st,
                preds,
                gt,
                team="explorer team",
                system=f"shift {k}" + " very long name" * 6,
                benchmark="mine/test",
                file_name=f"p{k}.jsonl",
            )
        render_site(st, tmp_path / "site", RankSettings(resamples=200), ground_truths=[gt_path])
    return tmp_path / "site"


MATRIX_JS = """(function(){var t=document.getElementById('matrix');
return Array.prototype.map.call(t.tBodies[0].rows,function(r){return [r.cells[%d].getAttribute('data-v'),
r.cells[0].textContent];});})()"""


def test_matrix_sorts_on_a_benchmark_column_and_fits_narrow_windows(browser: Browser, tmp_path: Path) -> None:
    site = _explorer_site(tmp_path)
    browser.open((site / "index.html").resolve().as_uri())
    heads = browser.js(
        "Array.prototype.map.call(document.querySelectorAll('#matrix thead tr:nth-child(2) th'),"
        "function(h){return [h.textContent, h.getAttribute('data-col')];})"
    )
    groups = browser.js(
        "Array.prototype.map.call(document.querySelectorAll('#matrix th.group a'),function(a){return a.textContent;})"
    )
    col = 4 + 2 * groups.index("mine/test")
    assert heads[col][1] == str(col)
    browser.click(f"#matrix thead tr:nth-child(2) th:nth-child({col + 1})")
    rows = browser.js(MATRIX_JS % col)
    values = [float(v) for v, _ in rows if v]
    assert len(values) == 2 and values == sorted(values, reverse=True)
    assert all(not v for v, _ in rows[2:])  # systems that did not enter this benchmark come after
    browser.click(f"#matrix thead tr:nth-child(2) th:nth-child({col + 1})")
    values = [float(v) for v, _ in browser.js(MATRIX_JS % col) if v]
    assert values == sorted(values)
    for width in (1400, 800):  # tables scroll inside their box; the page itself never scrolls sideways
        browser.call("Emulation.setDeviceMetricsOverride", width=width, height=1000, deviceScaleFactor=1, mobile=False)
        for page in ("index.html", "castella.html", next(p.name for p in site.glob("system-explorer-team-*.html"))):
            browser.open((site / page).resolve().as_uri())
            assert browser.js("document.documentElement.scrollWidth <= window.innerWidth"), (page, width)
            shots = os.environ.get("AMR_BENCH_SCREENSHOT_DIR")
            if shots:
                browser.screenshot(Path(shots) / f"{page.split('-')[0]}-{width}.png")
    browser.call("Emulation.clearDeviceMetricsOverride")


EXPLORER_JS = """(function(){var b=document.querySelector('div.explorer');
return Array.prototype.map.call(b.querySelectorAll('tbody tr'),function(r){
return [r.cells[0].textContent, parseFloat(r.cells[4].textContent), r.querySelectorAll('svg rect').length];});})()"""


def test_explorer_filters_misses_and_sorts_by_iou(browser: Browser, tmp_path: Path) -> None:
    site = _explorer_site(tmp_path)
    page = next(p for p in site.glob("system-explorer-team-shift-1-*.html"))
    browser.open(page.resolve().as_uri())
    rows = browser.js(EXPLORER_JS)  # default: misses at θ = 0.7
    # shifts of 0, 3, 6, 9 s on a 10 s window: IoU 1, 7/13, 4/16, 1/19; misses at 0.7 are 3 of every 4
    assert len(rows) == 22 and all(iou < 0.7 for _, iou, _ in rows)
    assert all(n == 1 + 1 + 2 for _, _, n in rows)  # background, ground truth, two windows
    browser.js(
        "(function(){var s=document.querySelector('div.explorer select.filter');s.value='all';"
        "s.dispatchEvent(new Event('change'));})()"
    )
    assert len(browser.js(EXPLORER_JS)) == 30
    browser.js(
        "(function(){var s=document.querySelector('div.explorer select.order');s.value='iou-asc';"
        "s.dispatchEvent(new Event('change'));})()"
    )
    ious = [iou for _, iou, _ in browser.js(EXPLORER_JS)]
    assert ious == sorted(ious) and ious[0] < 0.1 and ious[-1] == 1.0
    assert "30 of 30 shown" in browser.js("document.querySelector('div.explorer .count').textContent")


PNEXT_JS = """(function(){var t=document.querySelector('section table.board.stats');
var th=Array.prototype.filter.call(t.tHead.rows[0].cells,function(h){return h.textContent==='p (next)';})[0];
var note=t.previousElementSibling;
return [getComputedStyle(th).display, getComputedStyle(t.tBodies[0].rows[0].querySelector('td.rank-order')).display,
note.hidden];})()"""


def test_p_next_is_hidden_while_the_rows_are_not_in_rank_order(browser: Browser, tmp_path: Path) -> None:
    site = tmp_path / "site"
    with Store(build_board(tmp_path / "b.sqlite")) as st:
        render_site(st, site, RankSettings(resamples=200))
    browser.open((site / "castella.html").resolve().as_uri())
    assert browser.js(PNEXT_JS) == ["table-cell", "table-cell", True]
    heads = browser.js(
        "Array.prototype.map.call(document.querySelectorAll('section table.board.stats thead th'),"
        "function(h){return h.textContent;})"
    )
    browser.click(f"section table.board.stats thead th:nth-child({heads.index('R1@0.5') + 1})")
    assert browser.js(PNEXT_JS) == ["none", "none", False]  # p(next) no longer means the next row
    browser.click("section table.board.stats thead th:nth-child(1)")  # Rank, ascending: rank order again
    assert browser.js(PNEXT_JS) == ["table-cell", "table-cell", True]


def test_explorer_timeline_has_second_ticks_and_a_lane_per_window(browser: Browser, tmp_path: Path) -> None:
    site = _explorer_site(tmp_path)
    page = next(p for p in site.glob("system-explorer-team-shift-1-*.html"))
    browser.open(page.resolve().as_uri())
    row = browser.js(
        "(function(){var r=document.querySelector('div.explorer tbody tr');"
        "return [Array.prototype.map.call(r.querySelectorAll('.ticks span'),function(s){return s.textContent;}),"
        "r.querySelector('rect.lane-1').getAttribute('y'), r.querySelector('rect.lane-2').getAttribute('y'),"
        "r.querySelectorAll('svg line').length];})()"
    )
    ticks, lane1, lane2, lines = row
    assert ticks == ["0", "5 s", "10 s", "15 s", "20 s", "25 s", "30 s"] and lines == len(ticks)
    assert lane1 != lane2  # window 2 has a lane of its own, not on top of the top-1 window
    head = browser.js("document.querySelector('div.explorer thead').textContent")
    assert "recording length (s)" in head


def _meta(label: str, augmentation: list[str]) -> dict[str, Any]:
    return {
        "submission": {
            "label": label,
            "name": f"system {label}",
            "abbreviation": "S",
            "authors": [
                {"lastname": "Doe", "firstname": "Jane", "corresponding": True, "affiliation": {"institute": "U"}}
            ],
        },
        "system": {"description": {"data_augmentation": augmentation}, "complexity": {"total_parameters": 1000}},
    }


DCASE_ROWS_JS = """(function(){var t=document.querySelector('table.dcase.%s');
return Array.prototype.filter.call(t.tBodies[0].rows,function(r){return getComputedStyle(r).display!=='none';})
.map(function(r){return r.cells[1].textContent.trim();});})()"""


def test_dcase_tables_toggle_synthetic_entries_and_filter_characteristics(browser: Browser, tmp_path: Path) -> None:
    import numpy as np

    with Store(tmp_path / "b.sqlite") as st:
        for k, (team, label, synthetic, aug) in enumerate(
            [("A", "A_X_task6_1", False, ["mixup"]), ("B", "B_Y_task6_1", False, ["time shift"]), ("s", "o", True, [])]
        ):
            r1 = np.zeros(40)
            r1[: 30 - 5 * k] = 1
            st.add(
                team=team,
                system=label,
                benchmark="castella/test",
                sha256=f"sha{k}",
                size=1,
                file_name="x.jsonl",
                gt_sha256="a" * 64,
                signature={"scorer": "t", "metric": "m", "submission_sha256": "x"},
                qids=[f"q{i}" for i in range(40)],
                per_query={"R1@0.7": r1, "R1@0.5": r1, "mAP": r1 / 2, "AP@0.5": r1, "AP@0.75": r1 / 2},
                metrics={},
                added_at="2026-01-01T00:00:00Z",
                synthetic=synthetic,
                system_meta=None if synthetic else _meta(label, aug),
            )
        render_site(st, tmp_path / "site", RankSettings(resamples=200))
    browser.open((tmp_path / "site" / "castella.html").resolve().as_uri())
    assert browser.js(DCASE_ROWS_JS % "systems") == ["A_X_task6_1", "B_Y_task6_1"]  # synthetic hidden
    browser.click("input.show-synthetic")
    assert browser.js(DCASE_ROWS_JS % "systems") == ["A_X_task6_1", "B_Y_task6_1", "s/osynthetic"]  # + badge
    browser.js(
        "(function(){var i=document.querySelector('input.filter-rows');i.value='mixup';"
        "i.dispatchEvent(new Event('input'));})()"
    )
    assert browser.js(DCASE_ROWS_JS % "characteristics") == ["A_X_task6_1"]
