"""The benchmark page in the form of the DCASE results pages, built from a real-layout package."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from amr_bench.groundtruth import load_ground_truth
from amr_bench.leaderboard import dcase_page, intake
from amr_bench.leaderboard.demo import build_demo_package, jittered, random_windows
from amr_bench.leaderboard.ranking import RankSettings
from amr_bench.leaderboard.render import render_site
from amr_bench.leaderboard.results import add_records
from amr_bench.leaderboard.store import Store

GT = "castella/val"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import json

    from amr_bench.datasets.registry import resolve_ground_truth

    tmp = tmp_path_factory.mktemp("dcase")
    gt = load_ground_truth(GT)
    gt_rec = [json.loads(line) for line in Path(resolve_ground_truth(GT)[0]).read_text("utf-8").splitlines() if line]
    package = build_demo_package(tmp / "Doe_UNI_task6.zip", gt, gt_rec)
    with Store(tmp / "b.sqlite") as st:
        intake.ingest(st, package, gt, GT)

        def put(team: str, system: str, records: list[dict[str, Any]], **kw: Any) -> None:
            add_records(st, records, gt, team=team, system=system, benchmark=GT, file_name=f"{system}.jsonl", **kw)

        put("org", "official", jittered(gt_rec, 8.0, 1), baseline=True, system_meta={"reference": "official baseline"})
        put("baselines", "prior", random_windows(gt_rec, 2), system_meta={"reference": "prior-only control"})
        put("synthetic", "oracle", jittered(gt_rec, 0.5, 3), synthetic=True)
        render_site(st, tmp / "site", RankSettings(resamples=200))
    return tmp / "site"


def _table(html: str, name: str) -> list[str]:
    part = html[html.index(f'<table class="board dcase {name}">') :]
    part = part[: part.index("</table>")]
    return re.findall(r"<tr (.*?)</tr>", part[part.index("<tbody>") :], re.S)


def test_team_and_system_rankings_follow_the_dcase_results_pages(site: Path) -> None:
    html = (site / "castella.html").read_text("utf-8")
    teams = _table(html, "teams")
    assert len(teams) == 4  # Doe_UNI (two systems: its best one), org, baselines, synthetic
    doe = next(r for r in teams if 'data-v="Doe_UNI"' in r)
    assert "Doe_UNI_task6_1" in doe and "Jane Doe" in doe and "Example University" in doe
    assert doe.strip().endswith('<td data-v="2">2</td>')  # two ranked systems, the best one shown
    systems = _table(html, "systems")
    assert len(systems) == 5
    one = next(r for r in systems if "Doe_UNI_task6_1" in r)
    assert re.search(r'<a href="reports/[^"]+\.pdf" title="technical report">Doe_UNI_task6_1</a>', one)
    assert "AM-DETR-like (generated)" in one and "Jane Doe" in one
    reported = re.findall(r'<td data-v="([^"]*)" title="results / development_dataset / R1@0.7">([\d.]+)</td>', one)
    assert reported and abs(float(reported[0][1]) - 100 * float(re.findall(r'<td data-v="([^"]+)">', one)[1])) < 0.01
    official = next(r for r in systems if "org/official" in r)
    assert 'class="reference"' in official and '<span class="badge reference">official baseline</span>' in official
    prior = next(r for r in systems if "baselines/prior" in r)
    assert '<span class="badge reference">prior-only control</span>' in prior and "not reported" in prior
    oracle = next(r for r in systems if "synthetic/oracle" in r)
    assert 'data-synthetic="1"' in oracle  # hidden until the toggle is ticked
    assert 'class="show-synthetic"' in html and "show the 1 synthetic entry" in html
    index = (site / "index.html").read_text("utf-8")
    assert '<span class="badge reference">prior-only control</span>' in index
    assert '<span class="badge reference">official baseline</span>' in index


def test_characteristics_scatter_and_bibtex(site: Path) -> None:
    html = (site / "castella.html").read_text("utf-8")
    rows = _table(html, "characteristics")
    one = next(r for r in rows if "Doe_UNI_task6_1" in r)
    assert "MS-CLAP 2023 HTSAT" in one and "time shift, mixup" in one and "Clotho-Moment train" in one
    assert '<td data-v="3">3</td>' in one and '<td data-v="7600000">7,600,000</td>' in one
    assert 'class="filter-rows"' in html and 'data-sort="num" data-first="desc">Parameters</th>' in html
    scatter = html[html.index('aria-label="R1@0.7 against the number of parameters"') :].split("</svg>")[0]
    assert scatter.count("<circle") == 2 and ">1M</text>" in scatter and ">1G</text>" in scatter
    bib = re.search(r'<pre class="bib">(.*?)</pre>', html, re.S)
    assert bib
    text = bib.group(1)
    assert text.startswith("@techreport{Doe_UNI_task6,") and "author = {Doe, Jane and Roe, Richard}" in text
    assert "year = {2026}" in text and "Doe\\_UNI\\_task6\\_1, Doe\\_UNI\\_task6\\_2" in text


def test_reported_scores_are_read_as_percent_or_fraction() -> None:
    assert dcase_page.reported_score({"development_dataset": {"R1@0.7": 41.1, "mAP": 30}}, "R1@0.7") == (
        41.1,
        "results / development_dataset / R1@0.7",
    )
    got = dcase_page.reported_score({"development_dataset": {"r1_0.7": 0.411}}, "R1@0.7")
    assert got is not None and abs(got[0] - 41.1) < 1e-9
    assert dcase_page.reported_score({"evaluation": {"R1@0.7": 50}, "dev": {"R1@0.7": 40}}, "R1@0.7") == (
        40.0,
        "results / dev / R1@0.7",
    )
    assert dcase_page.reported_score(None, "R1@0.7") is None
    assert dcase_page.reported_score({"development_dataset": {"mAP": 30}}, "R1@0.7") is None
