"""Numbers that agree across pages: ranked version, mean rank, p-values, tiers, decimals, badges, plots."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np

from amr_bench.leaderboard import exports, plots, render, systems
from amr_bench.leaderboard.ranking import RankSettings, rank_store
from amr_bench.leaderboard.store import Store

SETTINGS = RankSettings(resamples=200)


def add(
    st: Store,
    team: str,
    system: str,
    benchmark: str,
    hits: int,
    q: int = 40,
    status: str = "ok",
    synthetic: bool = False,
    sha: str = "",
) -> None:
    r1 = np.zeros(q)
    r1[:hits] = 1
    cols = {"R1@0.7": r1, "R1@0.5": r1, "mAP": r1 / 2, "AP@0.5": r1, "AP@0.75": r1 / 2}
    for t in ("0.55", "0.6", "0.65", "0.7", "0.8", "0.85", "0.9", "0.95"):
        cols[f"AP@{t}"] = r1 / 3
    ok = status == "ok"
    st.add(
        team=team,
        system=system,
        benchmark=benchmark,
        sha256=sha or f"{team}-{system}-{benchmark}-{status}",
        size=1,
        file_name="run.jsonl",
        gt_sha256="a" * 64,
        signature={"scorer": "amr-bench test", "metric": "m1", "submission_sha256": "x"},
        qids=[f"q{i}" for i in range(q)] if ok else None,
        per_query=cols if ok else None,
        metrics={f"mAP@{t}": 0.3 for t in systems.THRESHOLDS} if ok else {},
        status=status,
        problems=[] if ok else ["run.jsonl:1: error: broken"],
        added_at="2026-03-01T10:00:00Z",
        synthetic=synthetic,
    )


def index_rows(site: Path) -> list[str]:
    index = (site / "index.html").read_text("utf-8")
    return re.findall(r"<tr (.*?)</tr>", index[index.index("<tbody>") : index.index("</tbody>")], re.S)


def test_a_failed_later_version_never_replaces_the_ranked_one_on_the_index(tmp_path: Path) -> None:
    with Store(tmp_path / "b.sqlite") as st:
        add(st, "t", "X", "castella/test", 30)
        add(st, "t", "Y", "castella/test", 20)
        add(st, "t", "X", "castella/test", 0, status="invalid")  # v2 of X fails
        render.render_site(st, tmp_path / "site", SETTINGS)
    (x_row,) = [r for r in index_rows(tmp_path / "site") if ">X</a>" in r]
    assert "badge failed" not in x_row and 'data-v="0.75"' in x_row  # the ranked version's 30/40
    assert "later version failed" in x_row and re.search(r'<td data-v="1.0">1.00', x_row)


def test_mean_rank_counts_evaluation_and_test_benchmarks_only(tmp_path: Path) -> None:
    with Store(tmp_path / "b.sqlite") as st:
        add(st, "t", "X", "castella/test", 30)
        add(st, "t", "X", "castella/train", 10)  # rank 2 on a training split: never counted
        add(st, "t", "Y", "castella/train", 20)
        add(st, "t", "Z", "dcase2026-eval", 5)
        rankings = rank_store(st, SETTINGS)
        render.render_site(st, tmp_path / "site", SETTINGS)
    by = {s.system: s for s in exports.system_summaries(rankings)}
    assert by["X"].mean_rank == 1.0 and by["Y"].mean_rank is None and by["Z"].mean_rank == 1.0
    doc = json.loads((tmp_path / "site" / "results.json").read_text("utf-8"))
    x = next(s for s in doc["systems"] if s["system"] == "X")
    assert x["mean_rank_over"] == ["castella/test"] and x["benchmarks_entered"] == 2
    assert [exports.counts_toward_mean_rank(b) for b in ("a/test", "a/eval", "a-eval", "a/val", "a/train")] == [
        True,
        True,
        True,
        False,
        False,
    ]


def test_p_values_at_the_resampling_floor_are_bounds_and_tiers_show_what_started_them(tmp_path: Path) -> None:
    with Store(tmp_path / "b.sqlite") as st:
        add(st, "t", "A", "castella/test", 40)
        add(st, "t", "B", "castella/test", 39)
        add(st, "t", "C", "castella/test", 0)
        (ranking,) = rank_store(st, SETTINGS)
        render.render_site(st, tmp_path / "site", SETTINGS)
    _, b, c = ranking.rows
    assert "next" in b.p_floor and b.p_next is not None  # no resample brings B and C together
    floor = 2 / 201  # 1 / (resamples + 1), times Holm's factor for 2 neighbouring pairs
    assert abs(b.p_next - floor) < 1e-12 and exports.pvalue(b.p_next, True) == "< 0.010"
    assert c.tier == 2 and c.p_tier_start is not None and "tier_start" in c.p_floor
    table = exports.to_table([ranking])
    assert "< 0.010" in table and " 0.010 " not in table.replace("< 0.010", "")
    assert "A new tier can start where p(next) >= 0.05" in exports.tests_note(ranking)
    assert "A new tier can start where p(next) \\>= 0.05" in exports.to_markdown([ranking])
    assert "a tier can change where p(next) is not significant" in exports.to_latex([ranking])
    page = (tmp_path / "site" / "castella.html").read_text("utf-8")
    assert "new tier: p &lt; 0.010" in page  # A against B and C, Holm over that family
    assert "<dt>Tier vs p (next)</dt>" in page
    assert page.count('class="rank-order"') == 1 + len(ranking.rows)  # header + every row: hidden when re-sorted


def test_a_failed_system_page_is_not_scored_and_a_failed_row_has_one_badge(tmp_path: Path) -> None:
    with Store(tmp_path / "b.sqlite") as st:
        add(st, "t", "ok", "castella/test", 30)
        add(st, "synthetic", "broken", "castella/test", 0, status="invalid", synthetic=True)
        render.render_site(st, tmp_path / "site", SETTINGS)
    site = tmp_path / "site"
    page = next(site.glob("system-synthetic-broken-*.html")).read_text("utf-8")
    assert "not scored (failed validation)" in page and "scored queries" not in page
    board = (site / "castella.html").read_text("utf-8")
    failed = re.search(r'<tr data-i="\d+" class="failed" data-failed="1">(.*?)</tr>', board, re.S)
    assert failed and failed.group(1).count('class="badge') == 1
    (row,) = [r for r in index_rows(site) if ">broken</a>" in r]
    assert row.count('class="badge') == 1  # the failure, in its benchmark's cell


def test_iou_is_rounded_down_so_a_miss_never_reads_as_the_threshold() -> None:
    assert systems.iou_text_value(0.6993) == 0.699
    assert systems.iou_text_value(0.69999) == 0.699
    assert systems.iou_text_value(0.7) == 0.7 and systems.iou_text_value(0.7 - 1e-12) == 0.7
    assert systems.iou_text_value(1.0) == 1.0


def test_plot_labels_never_repeat_and_identical_curves_stay_visible(tmp_path: Path) -> None:
    long = "synthetic/an oracle with boundary jitter of"
    labels = [f"{long} 1 s", f"{long} 10 s", f"{long} 1 s (copy)"]
    shorts = plots.distinct_labels(labels, 26)
    assert len(set(shorts)) == 3 and all(len(s) <= 26 for s in shorts)
    with Store(tmp_path / "b.sqlite") as st:
        add(st, "synthetic", "an oracle with boundary jitter of 1 s", "castella/test", 30)
        add(st, "synthetic", "an oracle with boundary jitter of 10 s", "castella/test", 20)
        add(st, "t", "copy", "castella/test", 20, sha="other")  # the same curve as the 10 s one
        render.render_site(st, tmp_path / "site", SETTINGS)
    page = (tmp_path / "site" / "castella.html").read_text("utf-8")
    forest = page[page.index('aria-label="R1@0.7 with confidence intervals"') :]
    texts = re.findall(r'<text x="[\d.]+" y="[\d.]+" text-anchor="end">([^<]+)</text>', forest.split("</svg>")[0])
    assert len(texts) == 3 and len(set(texts)) == 3
    curves = page[page.index('aria-label="mAP across IoU thresholds"') :].split("</svg>")[0]
    assert curves.count('stroke-dasharray="5 4"') == 2  # the later curve and its legend entry
    assert "(= synthetic/an oracle" in curves


def test_the_explorer_says_recording_length() -> None:
    html = (render.TEMPLATES / "system.html").read_text("utf-8")
    assert ">recording length (s)</th>" in html and ">length (s)</th>" not in html
