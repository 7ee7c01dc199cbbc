"""The static site: escaping of untrusted names, byte-identical re-render, raw sort keys, no requests."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from amr_bench.leaderboard.ranking import RankSettings
from amr_bench.leaderboard.render import page_key, render_site
from amr_bench.leaderboard.store import Store

EVIL = "<script>alert('x')</script>"
THETAS = ("0.5", "0.55", "0.6", "0.65", "0.7", "0.75", "0.8", "0.85", "0.9", "0.95")


def build_board(path: Path, q: int = 200) -> Path:
    """A store whose R1@0.7 values (100%, 10.5%, 9.5%, 9.5%) sort differently as display strings."""
    rng = np.random.default_rng(0)
    sig = {"scorer": "amr-bench test", "metric": "m1", "length_edges": [10.0, 30.0]}
    hits = {"A": q, "B": 21, "C": 19, "D": 19}
    with Store(path) as st:
        for k, (team, n) in enumerate(hits.items()):
            r1 = np.zeros(q)
            r1[rng.choice(q, n, replace=False)] = 1
            cols = {"R1@0.7": r1, "R1@0.5": r1, "mAP": r1 * 0.8, "gt_max_len": rng.uniform(1, 60, q)}
            cols.update({f"AP@{t}": r1 * (1 - j / 12) for j, t in enumerate(THETAS)})
            metrics = {f"mAP@{t}": float(cols[f"AP@{t}"].mean()) for t in THETAS}
            metrics.update(
                {"len.short.R1@0.7": 0.5, "len.short.queries": 50.0, "len.short.lo": 0.0, "len.short.hi": 10.0}
            )
            name = EVIL if team == "C" else f"system {team}"
            st.add(
                team=f"team {team}" if team != "D" else f"{EVIL} & co",
                system=name,
                benchmark="castella/test",
                sha256=f"sha{team}",
                size=10 + k,
                file_name=f"{team}.jsonl",
                gt_sha256="f" * 64,
                signature={**sig, "submission_sha256": f"sha{team}"},
                qids=[f"q{i}" for i in range(q)],
                per_query=cols,
                metrics=metrics,
                added_at=f"2026-03-0{k + 1}T10:00:00Z",
                baseline=team == "B",
            )
        st.add(
            team="broken team",
            system="broken",
            benchmark="castella/test",
            sha256="bad",
            size=1,
            file_name="bad.jsonl",
            gt_sha256="f" * 64,
            signature=sig,
            status="invalid",
            problems=[f"bad.jsonl:3: error: {EVIL}"],
            added_at="2026-03-09T10:00:00Z",
        )
    return path


def test_every_page_is_written_and_names_are_escaped(tmp_path: Path) -> None:
    with Store(build_board(tmp_path / "b.sqlite")) as st:
        files = render_site(st, tmp_path / "site", RankSettings(resamples=200))
    names = sorted(f.name for f in files)
    for page in (
        "index.html",
        "castella.html",
        "clotho-moment.html",
        "unav100-subset.html",
        "tut2017.html",
        "dcase2026.html",
    ):
        assert page in names
    html = (tmp_path / "site" / "castella.html").read_text("utf-8")
    assert EVIL not in html
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in html
    assert html.count("<script>") == 1  # only the page's own sorting script
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; co" in html
    for f in (f for f in files if f.suffix == ".html"):
        text = f.read_text("utf-8")
        assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", text), f.name
        assert "ground truth" in text.lower() or f.name != "castella.html"
        assert "amr-bench 0.1" in text or "amr-bench test" in text  # provenance footer


def test_rows_carry_raw_values_ranks_tiers_and_failed_last(tmp_path: Path) -> None:
    with Store(build_board(tmp_path / "b.sqlite")) as st:
        render_site(st, tmp_path / "site", RankSettings(resamples=200))
    html = (tmp_path / "site" / "castella.html").read_text("utf-8")
    stats = html[html.index('<table class="board stats">') :]
    body = stats[stats.index("<tbody>") : stats.index("</tbody>")]
    rows = re.findall(r"<tr (.*?)</tr>", body, re.S)
    assert len(rows) == 5
    assert 'data-failed="1"' in rows[-1] and "broken" in rows[-1]
    first_cells = [re.findall(r'<td[^>]*data-v="([^"]*)"', r)[0] for r in rows]
    assert first_cells == ["1", "2", "3", "3", ""]  # C and D tie on every key
    r07 = [re.findall(r'<td data-v="([^"]*)"', r)[2] for r in rows[:4]]
    assert [float(v) for v in r07] == [1.0, 21 / 200, 19 / 200, 19 / 200]
    assert r07[1] == repr(21 / 200)  # full precision, not the 2-decimal display
    assert 'class="tie"' in rows[2] and 'class="tie"' in rows[3]
    assert '<small class="ci">[100.00, 100.00]</small>' in rows[0]  # a perfect system's interval is a point
    forest = html[html.index('aria-label="R1@0.7 with confidence intervals"') :]
    forest = forest[: forest.index("</svg>")]
    marks = re.findall(r"<title>[^<]*: ([\d.]+) \[([\d.]+), ([\d.]+)\] \(tier \d+\)</title>", forest)
    assert len(marks) == 4 and "broken" not in forest  # one interval per scored system, none for the failed
    assert all(float(lo) <= float(v) <= float(hi) for v, lo, hi in marks)
    assert "f" * 64 in html  # ground-truth hash in the provenance block


def test_rerender_is_byte_identical(tmp_path: Path) -> None:
    db = build_board(tmp_path / "b.sqlite")
    with Store(db) as st:
        first = {f.name: f.read_bytes() for f in render_site(st, tmp_path / "one", RankSettings(resamples=200))}
    with Store(db) as st:  # reopened: nothing may depend on the process or the clock
        second = {f.name: f.read_bytes() for f in render_site(st, tmp_path / "two", RankSettings(resamples=200))}
    assert first == second
    with Store(db) as st:
        other_seed = {
            f.name: f.read_bytes() for f in render_site(st, tmp_path / "three", RankSettings(resamples=200, seed=1))
        }
    assert other_seed.keys() == first.keys()
    assert other_seed["castella.html"] != first["castella.html"]  # the intervals depend on the seed


def test_page_keys() -> None:
    assert page_key("castella/test") == "castella"
    assert page_key("dcase2026-eval") == "dcase2026"
    assert page_key("clotho-moment/val") == "clotho-moment"
    assert page_key("my data/x") == "my-data"


def _add(st: Store, team: str, system: str, benchmark: str, hits: int, q: int = 40, meta: dict | None = None) -> None:
    r1 = np.zeros(q)
    r1[:hits] = 1
    cols = {"R1@0.7": r1, "R1@0.5": r1, "mAP": r1 / 2, "AP@0.5": r1, "AP@0.75": r1 / 2}
    st.add(
        team=team,
        system=system,
        benchmark=benchmark,
        sha256=f"{team}-{system}-{benchmark}",
        size=1,
        file_name="run.jsonl",
        gt_sha256=("a" if benchmark.startswith("castella") else "b") * 64,
        signature={"scorer": "amr-bench test", "metric": "m1", "submission_sha256": "x"},
        qids=[f"q{i}" for i in range(q)],
        per_query=cols,
        metrics={},
        added_at="2026-03-01T10:00:00Z",
        system_meta=meta,
    )


def test_benchmark_names_never_overwrite_another_page(tmp_path: Path) -> None:
    hostile = ["index", "../escape", "a/b", "a-b", "castella.html", "results.json", "system-x", "cs v/../..", "ü/x"]
    with Store(tmp_path / "b.sqlite") as st:
        for k, name in enumerate(hostile):
            _add(st, "team", f"s{k}", name, 3)
        _add(st, "team", "s0", "castella/test", 5)
        files = render_site(st, tmp_path / "site", RankSettings(resamples=200))
    site = (tmp_path / "site").resolve()
    assert len(files) == len(set(files))  # no file written twice
    assert all(f.resolve().is_relative_to(site) for f in files)
    assert not (tmp_path / "escape.html").exists() and not (tmp_path / "escape").exists()
    index = (site / "index.html").read_text("utf-8")
    assert 'id="matrix"' in index  # still the overview, not the page of the benchmark "index"
    for name in hostile:  # every benchmark has its own column, linking to a page that exists and shows it
        href = re.search(r'<th colspan="2" class="group"><a href="([^"#]+)#[^"]*">' + re.escape(name) + "</a>", index)
        assert href, name
        assert name in (site / href.group(1)).read_text("utf-8").replace("&#34;", '"')
    json.loads((site / "results.json").read_text("utf-8"))  # the export kept its name


def test_the_index_is_a_matrix_with_mean_ranks_and_links(tmp_path: Path) -> None:
    with Store(tmp_path / "b.sqlite") as st:
        _add(st, "t", "X", "castella/test", 30)  # rank 1 on castella, 2 on tut
        _add(st, "t", "Y", "castella/test", 20)  # rank 2 on castella only
        _add(st, "t", "X", "tut2017/test", 10)
        _add(st, "t", "Z", "tut2017/test", 35)  # rank 1 on tut only
        render_site(st, tmp_path / "site", RankSettings(resamples=200))
    index = (tmp_path / "site" / "index.html").read_text("utf-8")
    body = index[index.index("<tbody>") : index.index("</tbody>")]
    rows = re.findall(r"<tr (.*?)</tr>", body, re.S)
    names = [re.search(r'<a href="(system-[^"]+)">([^<]+)</a>', r).groups() for r in rows]  # type: ignore[union-attr]
    # sorted by the primary benchmark (castella/test, the first test benchmark), not by mean rank
    assert [n for _, n in names] == ["X", "Y", "Z"]
    assert [re.findall(r'<td data-v="([^"]*)"', r)[0] for r in rows] == ["1.5", "2.0", "1.0"]
    assert re.search(r'aria-sort="descending" title="R1@0.7 \(%\) on castella/test', index)
    for file, _ in names:
        assert (tmp_path / "site" / file).is_file()
    headers = re.findall(r'<th colspan="2" class="group"><a href="([^"]+)">([^<]+)</a>', index)
    assert [h for _, h in headers] == ["castella/test", "tut2017/test"]
    assert headers[0][0].startswith("castella.html#") and headers[1][0].startswith("tut2017.html#")
    nav = index.split("</nav>")[0]
    assert ">Clotho-Moment</a>" not in nav  # no tab for a benchmark without entries
    assert '<a href="dcase2026.html">DCASE 2026 eval</a>' in nav  # but the challenge's page always has one
    assert (tmp_path / "site" / "dcase2026.html").is_file()


def test_system_page_shows_dcase_metadata_and_tolerates_missing_fields(tmp_path: Path) -> None:
    full = {
        "submission": {
            "label": "Lee_KAIST_task6_1",
            "name": "Two-stage retrieval",
            "abbreviation": "TwoStage",
            "authors": [
                {
                    "lastname": "Lee",
                    "firstname": "Min",
                    "email": "min@kaist.example",
                    "corresponding": True,
                    "affiliation": [{"institute": "KAIST", "abbreviation": "KAIST"}, {"institution": "NAVER"}],
                },
                {"lastname": "Kim", "firstname": "Ji", "affiliation": {"institute": "<b>Uni</b>"}},
            ],
        },
        "system": {
            "description": {"data_augmentation": ["mixup", "time warping"], "input_sampling_rate": 44.1},
            "complexity": {"total_parameters": 90_000_000, "MACS": "1.2G"},
            "external_datasets": [{"name": "AudioSet", "url": "https://research.google.com/audioset/"}],
            "source_code": None,
        },
        "results": {"development_dataset": {"R1@0.7": 31.5}},
    }
    with Store(tmp_path / "b.sqlite") as st:
        _add(st, "Lee_KAIST", "Lee_KAIST_task6_1", "castella/test", 10, meta=full)
        _add(st, "bare", "nothing", "castella/test", 5, meta={})
        _add(st, "odd", "types", "castella/test", 4, meta={"submission": "x", "system": [1], "results": None})
        render_site(st, tmp_path / "site", RankSettings(resamples=200))
    page = next((tmp_path / "site").glob("system-lee-kaist-*.html")).read_text("utf-8")
    for text in (
        "Two-stage retrieval",
        "TwoStage",
        "Min Lee",
        "corresponding",
        "KAIST",
        "NAVER",
        "mixup, time warping",
        "90,000,000",
        "MACS",
        "AudioSet",
        "not given",
        "R1@0.7",
    ):
        assert text in page, text
    assert "&lt;b&gt;Uni&lt;/b&gt;" in page and "<b>Uni</b>" not in page
    for name in ("system-bare-nothing-*.html", "system-odd-types-*.html"):
        page = next((tmp_path / "site").glob(name)).read_text("utf-8")
        assert "Not given: this system was not submitted as a DCASE package" in page and "Version history" in page
        assert "No per-query explorer: this entry was stored without its windows" in page  # said, not skipped


def test_system_page_history_shows_failed_attempts_and_withdrawals_with_who_when_why(tmp_path: Path) -> None:
    import hashlib

    with Store(tmp_path / "b.sqlite") as st:
        _add(st, "t", "S", "castella/test", 20)  # v1: valid
        st.add(  # v2: a failed attempt after it (never hides v1)
            team="t",
            system="S",
            benchmark="castella/test",
            sha256="broken",
            size=1,
            file_name="broken.jsonl",
            gt_sha256="a" * 64,
            signature={"scorer": "amr-bench test", "metric": "m1", "submission_sha256": "y"},
            status="invalid",
            problems=["broken.jsonl:3: expected a JSON object"],
        )
        _add(st, "t", "S", "tut2017/test", 10)  # tut v1, valid
        hits = np.zeros(40)
        hits[:30] = 1
        cols = {"R1@0.7": hits, "R1@0.5": hits, "mAP": hits, "AP@0.5": hits, "AP@0.75": hits}
        st.add(  # tut v2: better, then withdrawn by an organiser
            team="t",
            system="S",
            benchmark="tut2017/test",
            sha256="v2",
            size=1,
            file_name="v2.jsonl",
            gt_sha256="b" * 64,
            signature={"scorer": "amr-bench test", "metric": "m1", "submission_sha256": "z"},
            qids=[f"q{i}" for i in range(40)],
            per_query=cols,
            metrics={"R1@0.7": 0.75},
        )
        st.withdraw("t", "S", version=2, benchmark="tut2017/test", reason="trained on the test <b>set</b>", actor="ann")
        _add(st, "gone", "G", "castella/test", 5)
        st.withdraw("gone", "G", reason="team asked to retract", actor="bob")
        _add(st, "vw", "V", "castella/test", 3)
        st.withdraw("vw", "V", version=1, benchmark="castella/test", reason="its only version", actor="bob")
        pdf = b"%PDF-1.4\n%%EOF\n"
        pid = st.add_package(
            team="gone",
            sha256="pkg",
            file_name="gone.zip",
            report_name="gone_task6.technical_report.pdf",
            report_sha256=hashlib.sha256(pdf).hexdigest(),
            report=pdf,
        )
        st.db.execute("UPDATE submissions SET package_id=? WHERE file_name='run.jsonl' AND sha256 LIKE 'gone%'", (pid,))
        render_site(st, tmp_path / "site", RankSettings(resamples=200))
    page = next((tmp_path / "site").glob("system-t-s-*.html")).read_text("utf-8")
    history = page[page.index('id="history"') :]
    rows = re.findall(r"<tr data-i=.*?</tr>", history[: history.index("</table>")], re.S)
    states = [(re.findall(r'<td class="t" data-v="([^"]*)"', r)[:2]) for r in rows]
    assert states == [
        ["castella/test", "failed"],
        ["castella/test", "ranked"],
        ["tut2017/test", "withdrawn"],
        ["tut2017/test", "ranked"],
    ]
    assert "broken.jsonl:3: expected a JSON object" in rows[0]
    assert page.count('<a href="#history">v2 failed</a>') == 1  # the results table points at the failed attempt
    assert re.search(r"version withdrawn 20\S+ by ann: trained on the test &lt;b&gt;set&lt;/b&gt;", rows[2])
    assert "Organisers' actions" in page and ">tut2017/test version 2</td>" in page
    index = (tmp_path / "site" / "index.html").read_text("utf-8")
    assert "tut2017/test" in index and ">75.00<" not in index  # the withdrawn v2 does not rank
    gone = next((tmp_path / "site").glob("system-gone-g-*.html")).read_text("utf-8")  # withdrawn, page kept
    assert "Withdrawn by the organisers on" in gone and "system withdrawn" in gone and "team asked to retract" in gone
    assert re.search(r'<a href="reports/[^"]+">gone_task6\.technical_report\.pdf</a>', gone)
    assert re.search(r'Not on the leaderboard .*<a href="system-gone-g-[0-9a-f]{16}\.html">gone/G</a>', index)
    assert re.search(r'Not on the leaderboard .*<a href="system-vw-v-[0-9a-f]{16}\.html">vw/V</a>', index)
    assert "its only version" in next((tmp_path / "site").glob("system-vw-v-*.html")).read_text("utf-8")


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=12,
)


@given(JSON_VALUES)
@settings(max_examples=150, deadline=None)
def test_summarise_never_raises_on_stored_metadata_of_any_shape(block: object) -> None:
    """A store may hold metadata other code wrote: the page's summary leaves odd blocks out, never crashes."""
    from amr_bench.leaderboard.dcase_meta import summarise
    from amr_bench.leaderboard.render import meta_rows

    for meta in (
        {"submission": {"authors": block, "label": block}, "system": block, "results": block},
        {"submission": {}, "system": {k: block for k in ("description", "complexity", "source_code")}},
        {"submission": {}, "system": {"external_datasets": block}},
    ):
        summary = summarise(meta)
        assert summary is not None
        for part in (summary.description, summary.complexity, summary.reported_results, *summary.external_datasets):
            assert all(isinstance(k, str) and isinstance(v, str) for k, v in meta_rows(part))
        assert summary.source_code is None or isinstance(summary.source_code, str)


def test_explorer_data_is_inert_inside_the_page(tmp_path: Path) -> None:
    from amr_bench.groundtruth import load_ground_truth
    from amr_bench.leaderboard.results import add_records

    evil = "</script><script>alert(1)</script><!--"
    gt_path = tmp_path / "gt.jsonl"
    rows = [
        {
            "qid": i,
            "query": evil if i == 0 else f"q {i}",
            "vid": "v",
            "duration": 20.0,
            "relevant_windows": [[2.0, 6.0]],
        }
        for i in range(5)
    ]
    gt_path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    gt = load_ground_truth(gt_path)
    preds = [{"qid": i, "pred_relevant_windows": [[2.0, 6.0 + i], [10.0, 12.0]]} for i in range(5)]
    with Store(tmp_path / "b.sqlite") as st:
        add_records(st, preds, gt, team="t", system="s", benchmark="mine/test", file_name="p.jsonl")
        render_site(st, tmp_path / "site", RankSettings(resamples=200), ground_truths=[gt_path])
    page = next((tmp_path / "site").glob("system-t-s-*.html")).read_text("utf-8")
    assert evil not in page and page.count("<script>") == 2  # the page's own sorting and explorer scripts
    blob = re.search(r'<script type="application/json" class="pq">(.*?)</script>', page, re.S)
    assert blob
    data = json.loads(blob.group(1))
    assert data[0][1] == evil and data[0][3] == [[2.0, 6.0]] and data[0][4] == [[2.0, 6.0], [10.0, 12.0]]
    assert data[0][5] == 1.0 and data[4][5] == 0.5  # top-1 IoU: [2, 10] against [2, 6]
    assert data[0][6] == (1 << 10) - 1 and data[4][6] == 1  # hits at every θ; at θ = 0.5 only
    # breakdown by moment count, from the stored per-query scores: IoU 4/(4+i) hits θ=0.5 always, θ=0.7 for i<2
    assert "<th>one moment</th><td>5</td><td>100.00</td><td>40.00</td>" in page  # 2 decimals, as every table
    assert "<th>several moments</th><td>0</td>" in page


def test_report_is_copied_only_when_its_hash_matches(tmp_path: Path) -> None:
    import hashlib

    pdf = b"%PDF-1.4\n% a report\n%%EOF\n"
    with Store(tmp_path / "b.sqlite") as st:
        for team, body in (("Good_UNI", pdf), ("Bad_UNI", pdf + b"tampered")):
            pid = st.add_package(
                team=team,
                sha256=f"pkg-{team}",
                file_name=f"{team}_task6.zip",
                report_name=f"{team}_task6.technical_report.pdf",
                report_sha256=hashlib.sha256(pdf).hexdigest(),
                report=body,  # the tampered one's bytes do not match the recorded hash
            )
            r1 = np.ones(10)
            st.add(
                team=team,
                system=f"{team}_task6_1",
                benchmark="castella/test",
                sha256=f"s-{team}",
                size=1,
                file_name="o.jsonl",
                gt_sha256="a" * 64,
                signature={"scorer": "t", "metric": "m"},
                qids=[f"q{i}" for i in range(10)],
                per_query={"R1@0.7": r1, "R1@0.5": r1, "mAP": r1, "AP@0.5": r1, "AP@0.75": r1},
                metrics={},
                package_id=pid,
                added_at="2026-01-01T00:00:00Z",
            )
        render_site(st, tmp_path / "site", RankSettings(resamples=200))
    good = next((tmp_path / "site").glob("system-good-uni-*.html")).read_text("utf-8")
    link = re.search(r'<a href="(reports/[^"]+)">Good_UNI_task6\.technical_report\.pdf</a>', good)
    assert link and (tmp_path / "site" / link.group(1)).read_bytes() == pdf
    bad = next((tmp_path / "site").glob("system-bad-uni-*.html")).read_text("utf-8")
    assert "no copy available" in bad and 'href="reports/' not in bad
    assert len(list((tmp_path / "site" / "reports").iterdir())) == 1


def test_render_command_takes_ground_truths_for_the_explorer(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from amr_bench.cli import app
    from amr_bench.groundtruth import load_ground_truth
    from amr_bench.leaderboard.results import add_records

    gt_path = tmp_path / "private_eval.jsonl"
    rows = [
        {"qid": i, "query": f"secret query {i}", "vid": "v", "duration": 9.0, "relevant_windows": [[1.0, 4.0]]}
        for i in range(3)
    ]
    gt_path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    with Store(tmp_path / "b.sqlite") as st:
        add_records(
            st,
            [{"qid": i, "pred_relevant_windows": [[1.0, 3.0]]} for i in range(3)],
            load_ground_truth(gt_path),
            team="t",
            system="s",
            benchmark="dcase2026-eval",
            file_name="o.jsonl",
        )
    runner = CliRunner()
    for extra, shown in (([], False), (["--gt", str(gt_path)], True)):
        out = tmp_path / f"site{len(extra)}"
        res = runner.invoke(
            app,
            [
                "leaderboard",
                "render",
                "--db",
                str(tmp_path / "b.sqlite"),
                "--out",
                str(out),
                "--resamples",
                "200",
                *extra,
            ],
        )
        assert res.exit_code == 0, res.output
        page = next(out.glob("system-t-s-*.html")).read_text("utf-8")
        assert ("secret query 2" in page) is shown


@given(st.text(max_size=80), st.sampled_from(["system", "benchmark", ""]))
def test_derived_file_names_are_plain_and_bounded(name: str, prefix: str) -> None:
    from amr_bench.leaderboard.render import safe_name

    file = safe_name(prefix, name, "html")
    assert re.fullmatch(r"[a-z0-9-]+\.html", file) and len(file) <= 70
    assert not file.startswith("-") and file not in ("index.html", "results.json")
    assert safe_name(prefix, name, "html") == file  # stable across calls and processes (sha256, not hash())


def test_render_refuses_a_file_as_the_site_folder(tmp_path: Path) -> None:
    from amr_bench.errors import UsageError

    target = tmp_path / "site"
    target.write_text("keep me")
    with Store(build_board(tmp_path / "b.sqlite")) as store, pytest.raises(UsageError, match="not a folder"):
        render_site(store, target, RankSettings(resamples=200))
    assert target.read_text() == "keep me"


def test_plots_label_their_axes_and_leave_out_empty_length_buckets() -> None:
    from types import SimpleNamespace

    from amr_bench.leaderboard.plots import length_plot as _length_plot

    values = {"len.short.queries": 5.0, "len.short.R1@0.7": 0.4, "len.short.lo": 0.0, "len.short.hi": 10.0}
    values |= {"len.middle.queries": 0.0, "len.long.queries": 7.0, "len.long.R1@0.7": 0.9, "len.long.lo": 30.0}
    values["len.long.hi"] = float("inf")
    plot = _length_plot([SimpleNamespace(values=values, label="t/s")], "R1@0.7")  # type: ignore[list-item]
    assert [g["name"] for g in plot["legend"]] == ["short", "long"]  # no entry for the empty middle bucket
    assert [g["span"] for g in plot["legend"]] == ["0–10 s", "> 30 s"]
    assert len(plot["rows"][0]["bars"]) == 2


def test_pages_explain_their_axes_and_p_values(tmp_path: Path) -> None:
    with Store(build_board(tmp_path / "b.sqlite")) as st:
        render_site(st, tmp_path / "site", RankSettings(resamples=200))
    html = (tmp_path / "site" / "castella.html").read_text("utf-8")
    for text in (
        "IoU threshold θ</text>",
        "mAP (%)</text>",
        "R1@0.7 (%)</text>",
        "<dt>p (next)</dt>",
        "<dt>Holm</dt>",
        'title="paired test against the next ranked row, Holm-corrected (hidden while sorted by another column)">'
        "p (next)</th>",
    ):
        assert text in html, text


def test_team_and_system_names_with_slashes_get_separate_pages(tmp_path: Path) -> None:
    with Store(tmp_path / "b.sqlite") as st:
        _add(st, "a/b", "c", "castella/test", 10)
        _add(st, "a", "b/c", "castella/test", 5)
        files = render_site(st, tmp_path / "site", RankSettings(resamples=200))
    pages = [f for f in files if f.name.startswith("system-")]
    assert len(pages) == 2 and len({f.name for f in pages}) == 2
    texts = sorted(p.read_text("utf-8") for p in pages)
    assert any("<td>a/b</td>" in t and "<td>c</td>" in t for t in texts)
    assert any("<td>a</td>" in t and "<td>b/c</td>" in t for t in texts)
    bench = (tmp_path / "site" / "castella.html").read_text("utf-8")
    assert all(f'href="{p.name}"' in bench for p in pages)


def test_long_row_notes_are_clipped_in_the_table_with_the_full_text_as_a_tooltip(tmp_path: Path) -> None:
    long_note = "fitted on split A, " * 10 + "<end>"
    with Store(tmp_path / "b.sqlite") as st:
        _add(st, "t", "long", "castella/test", 10, meta={"description": long_note})
        _add(st, "t", "short", "castella/test", 5, meta={"description": "brief"})
        render_site(st, tmp_path / "site", RankSettings(resamples=200))
    page = (tmp_path / "site" / "castella.html").read_text("utf-8")
    full = long_note.replace("<", "&lt;").replace(">", "&gt;")
    assert f'<small class="ci" title="{full}">{full[:79]}…</small>' in page
    assert '<small class="ci">brief</small>' in page
    system = next((tmp_path / "site").glob("system-t-long-*.html")).read_text("utf-8")
    assert f"<td>{full}</td>" in system  # the system page keeps the whole description


def test_an_entry_whose_rank_depends_on_the_tie_order_is_marked_on_the_page(tmp_path: Path) -> None:
    from tests.leaderboard.test_ranking import _tie_store

    with _tie_store(tmp_path, {"A": [[0, 8], [0, 4]], "B": [[0, 8], [4, 8]], "C": [[20, 24]]}) as st:
        files = render_site(st, tmp_path / "site", RankSettings(resamples=200))
    html = next(p for p in files if p.name.startswith("benchmark-ties-")).read_text("utf-8")
    assert html.count("depends on the IoU tie order") == 2  # A and B, not C
    assert "T/A: with equal-IoU ground-truth windows matched in the other order" in html
