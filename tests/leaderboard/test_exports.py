"""Exports of the rankings: results.json, CSV (formula-safe), Markdown, LaTeX and ``leaderboard rank --format``."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from amr_bench.cli import app
from amr_bench.leaderboard import exports
from amr_bench.leaderboard.ranking import RankSettings, rank_store
from amr_bench.leaderboard.store import Store
from amr_bench.outputs import FORMULA_STARTS
from tests.leaderboard.test_render import build_board

SETTINGS = RankSettings(resamples=200)


def _no_nan(token: str) -> None:
    raise AssertionError(f"invalid JSON token {token}")


def add_named(path: Path, team: str, system: str, hits: int, q: int = 50, benchmark: str = "castella/test") -> None:
    r1 = np.zeros(q)
    r1[:hits] = 1
    with Store(path) as st:
        st.add(
            team=team,
            system=system,
            benchmark=benchmark,
            sha256=f"sha-{team}-{system}-{benchmark}",
            size=1,
            file_name="x.jsonl",
            gt_sha256="e" * 64,
            signature={"scorer": "t", "metric": "m", "submission_sha256": "x"},
            qids=[f"q{i}" for i in range(q)],
            per_query={"R1@0.7": r1, "R1@0.5": r1, "mAP": r1 / 2, "AP@0.5": r1, "AP@0.75": r1 / 4},
            metrics={"len.long.hi": float("inf"), "len.long.lo": 30.0},
            added_at="2026-01-01T00:00:00Z",
        )


def test_results_json_has_every_cell_with_raw_values_and_is_strict_json(tmp_path: Path) -> None:
    with Store(build_board(tmp_path / "b.sqlite")) as st:
        rankings = rank_store(st, SETTINGS)
    doc = json.loads(exports.to_json(rankings, SETTINGS), parse_constant=_no_nan)
    (group,) = doc["benchmarks"]
    assert group["benchmark"] == "castella/test" and group["queries"] == 200
    by_team = {c["team"]: c for c in group["entries"]}
    assert by_team["team B"]["values"]["R1@0.7"] == 21 / 200  # raw, not the 2-decimal display
    assert by_team["team B"]["rank"] == 2 and by_team["team B"]["baseline"] is True
    lo, hi = by_team["team A"]["ci"]["R1@0.7"]
    assert lo <= 1.0 <= hi
    assert by_team["broken team"]["status"] == "invalid" and by_team["broken team"]["rank"] is None
    assert group["ranking_signature"]["bootstrap"]["resamples"] == 200
    assert group["scorer_signature"]["scorer"] == "amr-bench test"
    assert doc["systems"][0]["team"] == "team A" and doc["systems"][0]["mean_rank"] == 1.0


def test_infinite_and_nan_values_become_null(tmp_path: Path) -> None:
    add_named(tmp_path / "s.sqlite", "t", "s", 10)
    with Store(tmp_path / "s.sqlite") as st:
        rankings = rank_store(st, SETTINGS)
    doc = json.loads(exports.to_json(rankings, SETTINGS), parse_constant=_no_nan)
    assert doc["benchmarks"][0]["entries"][0]["values"]["len.long.hi"] is None


# (names starting with a tab or CR are refused by the store itself; safe_cell's property test covers them)
@pytest.mark.parametrize("name", ['=HYPERLINK("http://x")', "+1+1", "-2", "@SUM(A1)"])
def test_csv_text_cells_never_start_a_formula(tmp_path: Path, name: str) -> None:
    add_named(tmp_path / "s.sqlite", name, "sys", 10)
    with Store(tmp_path / "s.sqlite") as st:
        rankings = rank_store(st, SETTINGS)
    rows = list(csv.reader(io.StringIO(exports.to_csv(rankings, SETTINGS), newline="")))
    head, first = rows[0], rows[1]
    assert first[head.index("team")] == "'" + name
    assert float(first[head.index("R1@0.7")]) == 10 / 50  # numbers stay numbers


@given(st.text(min_size=1, max_size=30))
def test_csv_round_trips_any_name(name: str) -> None:
    cell = exports.safe_cell(name)
    buf = io.StringIO(newline="")
    csv.writer(buf, lineterminator="\r\n").writerow([cell, 1.5])
    (back,) = list(csv.reader(io.StringIO(buf.getvalue(), newline="")))
    assert back == [cell, "1.5"]
    assert not back[0].startswith(FORMULA_STARTS)
    assert back[0] in (name, "'" + name)


def test_markdown_and_latex_escape_names(tmp_path: Path) -> None:
    add_named(tmp_path / "s.sqlite", "a|b_c", "50% & $x$ #1 {y}", 10)
    with Store(tmp_path / "s.sqlite") as st:
        rankings = rank_store(st, SETTINGS)
    md = exports.to_markdown(rankings)
    row = next(line for line in md.splitlines() if "a\\|b" in line)
    assert row.count(" | ") == len(exports.table_header(rankings[0])) - 1  # the name adds no column
    tex = exports.to_latex(rankings)
    assert r"a\textbar{}b\_c/50\% \& \$x\$ \#1 \{y\}" in tex
    assert tex.count(r"\begin{tabular}") == 1 and tex.count(r"\\") == 2  # header + one row


def test_rank_prints_every_format_from_the_same_data(tmp_path: Path) -> None:
    db = build_board(tmp_path / "b.sqlite")
    runner = CliRunner()
    out = {}
    for fmt in exports.FORMATS:
        res = runner.invoke(app, ["leaderboard", "rank", "--db", str(db), "--resamples", "200", "--format", fmt])
        assert res.exit_code == 0, res.output
        out[fmt] = res.stdout
    doc = json.loads(out["json"], parse_constant=_no_nan)
    ranks = [c["rank"] for c in doc["benchmarks"][0]["entries"]]
    rows = list(csv.DictReader(io.StringIO(out["csv"], newline="")))
    assert [int(r["rank"]) if r["rank"] else None for r in rows] == ranks
    assert "| 1 | 1 | team A/system A |" in out["markdown"]
    assert "\\toprule" in out["latex"] and "team A/system A" in out["latex"]
    assert "team A/system A" in out["table"] and "100.00 (200/200)" in out["table"]
    res = runner.invoke(app, ["leaderboard", "rank", "--db", str(db), "--format", "xml"])
    assert res.exit_code == 2 and "table, json, csv, markdown, latex" in res.output


def test_rank_shows_the_baseline_column_and_names_valid_entries_on_a_miss(tmp_path: Path) -> None:
    db = build_board(tmp_path / "b.sqlite")
    runner = CliRunner()
    res = runner.invoke(app, ["leaderboard", "rank", "--db", str(db), "--resamples", "200", "--baseline", "system A"])
    assert res.exit_code == 0, res.output
    head, *rows = res.stdout.splitlines()[1:7]
    assert "p(baseline)" in head
    assert "(baseline)" in next(r for r in rows if "team A/system A" in r)
    b_row = next(r for r in rows if "team B/system B" in r)
    assert 0.0 <= float(b_row.split()[-1]) <= 1.0  # its p-value against the baseline
    res = runner.invoke(app, ["leaderboard", "rank", "--db", str(db), "--resamples", "200", "--baseline", "nobody"])
    assert res.exit_code == 2 and "Traceback" not in res.output
    assert "'nobody' matches no valid entry" in res.output and "team B/system B" in res.output
    assert "broken team/broken" not in res.output  # only valid entries are offered


def add_synthetic(path: Path, hits: int, q: int = 50) -> None:
    r1 = np.zeros(q)
    r1[:hits] = 1
    with Store(path) as st:
        st.add(
            team="synthetic",
            system="oracle",
            benchmark="castella/test",
            sha256="sha-oracle",
            size=1,
            file_name="o.jsonl",
            gt_sha256="e" * 64,
            signature={"scorer": "t", "metric": "m", "submission_sha256": "x"},
            qids=[f"q{i}" for i in range(q)],
            per_query={"R1@0.7": r1, "R1@0.5": r1, "mAP": r1 / 2, "AP@0.5": r1, "AP@0.75": r1 / 4},
            metrics={},
            added_at="2026-01-01T00:00:00Z",
            synthetic=True,
        )


def test_latex_is_a_table_float_with_caption_label_booktabs_note_and_escapes(tmp_path: Path) -> None:
    add_named(tmp_path / "s.sqlite", "<lab>", "a>b", 10)
    with Store(tmp_path / "s.sqlite") as st:
        rankings = rank_store(st, SETTINGS)
    tex = exports.to_latex(rankings)
    assert "\\begin{table}" in tex and "\\end{table}" in tex and "\\centering" in tex
    assert "\\caption{castella/test: " in tex and "ranked by R1@0.7 (\\%)" in tex
    assert "\\label{tab:amr-castella-test-eeeeee}" in tex
    comment = next(line for line in tex.splitlines() if "booktabs" in line)
    assert comment.startswith("%") and "\\usepackage{booktabs}" in comment
    assert "\\textless{}lab\\textgreater{}/a\\textgreater{}b" in tex
    body = tex[tex.index("\\begin{tabular}") :]
    assert "<" not in body and ">" not in body


def test_latex_compact_fits_a_column_and_exclusions_re_rank(tmp_path: Path) -> None:
    db = tmp_path / "s.sqlite"
    add_named(db, "team", "real", 10)
    add_synthetic(db, 40)
    with Store(db) as st:
        st.add(
            team="broken",
            system="b",
            benchmark="castella/test",
            sha256="bad",
            size=1,
            file_name="bad.jsonl",
            gt_sha256="e" * 64,
            signature={"scorer": "t", "metric": "m"},
            status="invalid",
            problems=["x: error"],
            added_at="2026-01-02T00:00:00Z",
        )
    runner = CliRunner()
    base = ["leaderboard", "rank", "--db", str(db), "--resamples", "200", "--format", "latex"]
    full = runner.invoke(app, base)
    assert full.exit_code == 0, full.output
    assert "synthetic/oracle" in full.stdout and "broken/b" in full.stdout
    res = runner.invoke(app, [*base, "--compact", "--exclude-invalid", "--exclude-synthetic"])
    assert res.exit_code == 0, res.output
    tex = res.stdout
    assert "synthetic/oracle" not in tex and "broken/b" not in tex
    assert "\\footnotesize" in tex and "\\begin{tabular}{rlrrr}" in tex
    row = next(line for line in tex.splitlines() if "team/real" in line)
    assert row.startswith("1 & team/real & 20.0 [")  # re-ranked: first once the oracle is left out
    assert "failed and synthetic entries left out" in tex
    assert "p(next)" not in tex and "tier" not in tex.lower().split("\\caption")[0]
    bad = runner.invoke(app, ["leaderboard", "rank", "--db", str(db), "--compact"])
    assert bad.exit_code == 2 and "--compact is a form of --format latex" in bad.output


def test_markdown_escapes_dollar_signs(tmp_path: Path) -> None:
    add_named(tmp_path / "s.sqlite", "$x$", "cost $5~", 10)
    with Store(tmp_path / "s.sqlite") as st:
        md = exports.to_markdown(rank_store(st, SETTINGS))
    assert "\\$x\\$/cost \\$5\\~" in md and "| $" not in md
