"""``amr-bench demo`` end to end (quick mode), and the example submission metadata."""

from __future__ import annotations

import json
import re
import sqlite3
import zipfile
from pathlib import Path
from typing import Any

import yaml
from typer.testing import CliRunner

from amr_bench.cli import app
from amr_bench.schemas import validator

ROOT = Path(__file__).resolve().parents[2]


def test_demo_builds_a_store_and_site(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    res = CliRunner().invoke(app, ["demo", str(out), "--quick"])
    assert res.exit_code == 0, res.output
    assert "== castella/val" in res.output and "lighthouse (reference run)/QD-DETR" in res.output
    assert "16.19 (57/352)" in res.output  # the bundled real run, exactly as the official scorer
    lines = res.output.splitlines()
    val = lines.index(next(line for line in lines if line.startswith("== castella/val")))
    table = lines[val + 2 : lines.index("", val)]
    assert table[0].startswith("1 ") and "synthetic/oracle " in table[0]
    assert "INVALID" in table[-1]
    assert sum("QD-DETR" in line and line.startswith("7=") for line in table) == 2  # copy ties
    assert "(baseline)" in next(line for line in table if "lighthouse" in line)  # the baseline column
    index = out / "site" / "index.html"
    assert index.is_file() and str(index.resolve()) in res.output
    assert (out / "site" / "castella.html").read_text("utf-8").count("synthetic</span>") >= 8
    from amr_bench.leaderboard.store import Store

    with Store(out / "leaderboard.sqlite") as st:
        # castella/val (10 + 2 later versions) + unav100 and tut2017 (4 each) + the DCASE package's two systems
        assert st.count_submissions() == 12 + 2 * 4 + 2


def test_demo_ingests_a_real_layout_package_and_links_its_report(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    res = CliRunner().invoke(app, ["demo", str(out), "--quick"])
    assert res.exit_code == 0, res.output
    with zipfile.ZipFile(out / "Doe_UNI_task6.zip") as zf:
        names = set(zf.namelist())
    assert {
        "task6/Doe_UNI_task6_1/Doe_UNI_task6_1.meta.yaml",
        "task6/Doe_UNI_task6_1/Doe_UNI_task6_1.output.jsonl",
        "task6/Doe_UNI_task6.technical_report.pdf",
    } <= names
    assert "Doe_UNI/Doe_UNI_task6_1" in res.output
    page = next((out / "site").glob("system-doe-uni-doe-uni-task6-1-*.html")).read_text("utf-8")
    assert "Jane Doe" in page and "Example University" in page and "corresponding" in page
    assert "7,600,000" in page and "https://example.org/doe-uni/amr-task6" in page
    link = re.search(r'<a href="(reports/[^"]+\.pdf)">Doe_UNI_task6\.technical_report\.pdf</a>', page)
    assert link, "the report is linked"
    pdf = (out / "site" / link.group(1)).read_bytes()
    assert pdf.startswith(b"%PDF-1.4") and pdf.rstrip().endswith(b"%%EOF")
    xref = int(pdf.rsplit(b"startxref", 1)[1].split()[0])
    assert pdf[xref : xref + 4] == b"xref"  # the offset table points where it should


def test_demo_never_touches_an_existing_store(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    out.mkdir()
    db = out / "leaderboard.sqlite"
    with sqlite3.connect(db) as con:  # a real store someone cares about
        con.execute("CREATE TABLE precious (x)")
        con.execute("INSERT INTO precious VALUES (42)")
    before = db.read_bytes()
    res = CliRunner().invoke(app, ["demo", str(out), "--quick"])
    assert res.exit_code == 2 and "already exists" in res.output and "--force" in res.output
    assert "Traceback" not in res.output
    assert db.read_bytes() == before
    assert not (out / "site").exists()


def test_demo_force_keeps_a_backup_copy_first(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    out.mkdir()
    db = out / "leaderboard.sqlite"
    with sqlite3.connect(db) as con:
        con.execute("CREATE TABLE precious (x)")
        con.execute("INSERT INTO precious VALUES (42)")
    res = CliRunner().invoke(app, ["demo", str(out), "--quick", "--force"])
    assert res.exit_code == 0, res.output
    backups = list(out.glob("leaderboard.sqlite.backup-*"))
    assert len(backups) == 1  # one self-contained file (SQLite's backup API; see test_store_safety)
    with sqlite3.connect(backups[0]) as con:
        assert con.execute("SELECT x FROM precious").fetchall() == [(42,)]
    assert "backup" in res.output


def fake_demo_systems(workdir: Path) -> list[dict[str, Any]]:
    """A stand-in for the baselines' demo systems: one run on a tiny ground truth of its own, one on a bundled split."""
    gt = workdir / "tiny" / "test.jsonl"
    gt.parent.mkdir(parents=True, exist_ok=True)
    rows = [
        {"qid": i, "query": f"sound {i}", "vid": f"v{i}", "duration": 30.0, "relevant_windows": [[2.0, 9.0]]}
        for i in range(12)
    ]
    gt.write_text("".join(json.dumps(r) + "\n" for r in rows))
    preds = [{"qid": i, "pred_relevant_windows": [[2.0, 8.0 + (i % 3)]]} for i in range(12)]
    from amr_bench.groundtruth import load_ground_truth

    tut = load_ground_truth("tut2017/test")
    return [
        {
            "benchmark": "tiny/test",
            "ground_truth": gt,
            "team": "plugin",
            "system": "fake",
            "records": preds,
            "description": "registered through amr_bench.demo_systems",
        },
        {
            "benchmark": "tut2017/test",
            "ground_truth": "tut2017/test",  # a bundled split, by name
            "team": "plugin",
            "system": "fixed window",
            "records": [{"qid": q, "pred_relevant_windows": [[0.0, 10.0]]} for q in tut.qids],
            "description": "the same window for every query",
        },
    ]


def test_demo_stores_the_runs_of_registered_demo_systems(tmp_path: Path, monkeypatch: Any) -> None:
    from importlib.metadata import EntryPoint

    from amr_bench.leaderboard import demo

    fake = EntryPoint("fake", "tests.leaderboard.test_demo:fake_demo_systems", demo.DEMO_SYSTEMS_GROUP)
    monkeypatch.setattr(demo, "entry_points", lambda group: [fake] if group == demo.DEMO_SYSTEMS_GROUP else [])
    monkeypatch.setattr(demo, "FULL_SPLITS", demo.QUICK_SPLITS)  # keep the full mode small here
    res = CliRunner().invoke(app, ["demo", str(tmp_path / "demo")])
    assert res.exit_code == 0, res.output
    assert "== tiny/test" in res.output and "plugin/fake" in res.output
    page = next((tmp_path / "demo" / "site").glob("system-plugin-fake-*.html")).read_text("utf-8")
    assert "sound 11" in page  # the explorer found the plugin's ground truth for the query texts
    from amr_bench.leaderboard.store import Store

    with Store(tmp_path / "demo" / "leaderboard.sqlite") as st:
        tut = [v for v in st.versions() if v.benchmark == "tut2017/test"]
        tiny = [v for v in st.versions() if v.benchmark == "tiny/test"]
    # the bundled split joins the demo's own group (one ground truth) and gets no second set of generated systems
    assert {v.gt_sha256 for v in tut} == {tut[0].gt_sha256} and len(tut) == 4 + 1
    assert ("plugin", "fixed window", 1) in {(v.team, v.system, v.version) for v in tut}
    assert sorted(v.system for v in tiny) == ["fake", "oracle jitter 3 s", "random windows"]


def test_the_prior_control_is_planned_on_every_bundled_split_fitted_on_another_split() -> None:
    from amr_bench.datasets.registry import splits
    from amr_bench_baselines.zeroshot.demo_systems import PRIOR_PLAN

    scored = {e.name for e in splits() if e.has_windows}
    assert {b for b, _, _ in PRIOR_PLAN} == scored
    for benchmark, answered, fitted_on in PRIOR_PLAN:
        assert answered == benchmark and fitted_on in scored and fitted_on != answered
        assert not str(fitted_on).endswith("/test"), "a prior never sees a test split"
        dataset = benchmark.split("/")[0]
        others = {s for s in scored if s.startswith(dataset + "/") and s != benchmark and not s.endswith("/test")}
        if others:  # another non-test split of the same dataset exists: it is the one used
            assert fitted_on in others, benchmark


def test_prior_runs_answer_every_query_with_windows_fitted_elsewhere() -> None:
    import pytest

    from amr_bench.groundtruth import load_ground_truth
    from amr_bench_baselines.zeroshot.demo_systems import prior_runs

    (run,) = prior_runs([("tut2017/test", "tut2017/test", "unav100-subset/test")])
    gt = load_ground_truth("tut2017/test")
    assert run["ground_truth"] == "tut2017/test" and run["team"] == "baselines"
    assert [r["qid"] for r in run["records"]] == list(gt.qids)
    first = {tuple(r["pred_relevant_windows"][0][:2]) for r in run["records"]}
    assert len(first) <= len(set(gt.durations))  # the same top window for every query, up to clipping
    assert run["description"].endswith("fitted on unav100-subset/test")
    with pytest.raises(ValueError, match="different split"):
        prior_runs([("tut2017/test", "tut2017/test", "tut2017/test")])


def test_example_meta_is_valid() -> None:
    meta = ROOT / "submissions" / "example_package" / "task6" / "Doe_UNI_task6_1" / "Doe_UNI_task6_1.meta.yaml"
    data = yaml.safe_load(meta.read_text())
    assert list(validator("dcase_meta").iter_errors(data)) == []
