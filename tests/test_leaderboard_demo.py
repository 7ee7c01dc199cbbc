"""``amr-bench demo`` end to end (quick mode), and the example submission metadata."""

from __future__ import annotations

from pathlib import Path

import yaml
from typer.testing import CliRunner

from amr_bench.cli import app
from amr_bench.schemas import validator

ROOT = Path(__file__).resolve().parent.parent


def test_demo_builds_a_fresh_store_and_site(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    runner = CliRunner()
    for _ in range(2):  # a second run starts from a fresh store, not on top of the first
        res = runner.invoke(app, ["demo", str(out), "--quick"])
        assert res.exit_code == 0, res.output
    assert "== castella/val" in res.output and "lighthouse (reference run)/QD-DETR" in res.output
    assert "16.19 (57/352)" in res.output  # the bundled real run, exactly as the official scorer
    lines = res.output.splitlines()
    val = lines.index(next(line for line in lines if line.startswith("== castella/val")))
    table = lines[val + 2 : lines.index("", val)]
    assert table[0].startswith("1 ") and "synthetic/oracle " in table[0]
    assert "INVALID" in table[-1]
    assert sum("QD-DETR" in line and line.startswith("5=") for line in table) == 2  # copy ties
    index = out / "site" / "index.html"
    assert index.is_file() and str(index.resolve()) in res.output
    assert (out / "site" / "castella.html").read_text("utf-8").count("synthetic</span>") >= 8
    from amr_bench.leaderboard.store import Store

    with Store(out / "leaderboard.sqlite") as st:
        assert st.count_submissions() == 10 + 2 * 4  # castella/val + unav100 + tut2017


def test_example_meta_is_valid() -> None:
    meta = ROOT / "submissions" / "example_package" / "task6" / "Doe_UNI_task6_1" / "Doe_UNI_task6_1.meta.yaml"
    data = yaml.safe_load(meta.read_text())
    assert list(validator("dcase_meta").iter_errors(data)) == []
