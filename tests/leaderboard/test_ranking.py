"""Ranking: exact ties, tie-breaks, failed entries last, intervals and tests, CLI rank/compare."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import orjson
import pytest
from typer.testing import CliRunner

from amr_bench.cli import app
from amr_bench.leaderboard.exports import format_table
from amr_bench.leaderboard.ranking import RankSettings, rank_group, rank_matrices
from amr_bench.leaderboard.store import Entry, GroupKey, Store

GROUP = GroupKey("b", "g", "m")


def _entry(i: int, team: str = "T", status: str = "ok") -> Entry:
    return Entry(
        submission_id=i,
        team=team,
        system=f"s{i}",
        synthetic=False,
        baseline=False,
        meta={},
        group=GROUP,
        version=1,
        sha256=str(i),
        size=1,
        file_name="f",
        added_at="t",
        status=status,
        problems=[],
        signature={},
    )


def _hits(count: int, q: int, rng: np.random.Generator) -> np.ndarray:
    x = np.zeros(q)
    x[rng.choice(q, count, replace=False)] = 1.0
    return x


def test_equal_values_share_a_rank_even_when_floats_would_round_differently() -> None:
    rng = np.random.default_rng(0)
    q = 177
    r07 = np.stack([_hits(86, q, rng), _hits(86, q, rng), _hits(86, q, rng), _hits(80, q, rng)])
    r05 = np.stack([_hits(100, q, rng)] * 4)
    m = np.full((4, q), 0.3)
    ranking = rank_matrices(
        GROUP, [_entry(i) for i in range(4)], [], {"R1@0.7": r07, "R1@0.5": r05, "mAP": m}, RankSettings(resamples=200)
    )
    assert [r.rank for r in ranking.rows] == [1, 1, 1, 4]
    assert [r.shared_rank for r in ranking.rows] == [True, True, True, False]
    assert ranking.rows[0].hits["R1@0.7"] == 86 and ranking.n_queries == 177
    assert ranking.rows[0].values["R1@0.7"] == 86 / 177


def test_tie_breaks_decide_and_are_recorded() -> None:
    rng = np.random.default_rng(1)
    q = 50
    r07 = np.stack([_hits(20, q, rng)] * 3)
    r05 = np.stack([_hits(25, q, rng), _hits(30, q, rng), _hits(30, q, rng)])
    m = np.stack([np.full(q, 0.2), np.full(q, 0.1), np.full(q, 0.3)])
    ranking = rank_matrices(
        GROUP, [_entry(i) for i in range(3)], [], {"R1@0.7": r07, "R1@0.5": r05, "mAP": m}, RankSettings(resamples=200)
    )
    assert [r.entry.submission_id for r in ranking.rows] == [2, 1, 0]
    assert [r.rank for r in ranking.rows] == [1, 2, 3]
    assert [r.tie_broken_by for r in ranking.rows] == ["mAP", "mAP", "R1@0.5"]
    no_breaks = rank_matrices(
        GROUP,
        [_entry(i) for i in range(3)],
        [],
        {"R1@0.7": r07, "R1@0.5": r05, "mAP": m},
        RankSettings(tie_breaks=(), resamples=200),
    )
    assert [r.rank for r in no_breaks.rows] == [1, 1, 1]


def test_failed_entries_come_last_unranked() -> None:
    x = np.ones((1, 10))
    ranking = rank_matrices(
        GROUP,
        [_entry(1)],
        [_entry(0, "A", "invalid")],
        {"R1@0.7": x, "R1@0.5": x, "mAP": x},
        RankSettings(resamples=200),
    )
    assert [(r.entry.submission_id, r.rank, r.ok) for r in ranking.rows] == [(1, 1, True), (0, None, False)]
    assert "INVALID" in format_table(ranking).splitlines()[-1]


def test_intervals_tests_and_tiers_on_a_clear_and_an_unclear_gap() -> None:
    rng = np.random.default_rng(2)
    q = 400
    best = _hits(240, q, rng)
    twin = best.copy()
    twin[np.flatnonzero(best)[:2]] = 0  # two queries fewer: inseparable
    worse = best * (rng.random(q) < 0.4)
    x = np.stack([worse, twin, best])
    e = [_entry(i) for i in range(3)]
    e[0] = Entry(**{**e[0].__dict__, "baseline": True})
    ranking = rank_matrices(GROUP, e, [], {"R1@0.7": x, "R1@0.5": x, "mAP": x}, RankSettings())
    rows = ranking.rows
    assert [r.entry.submission_id for r in rows] == [2, 1, 0]
    assert [r.tier for r in rows] == [1, 1, 2]
    assert rows[0].p_next is not None and rows[0].p_next > 0.05
    assert rows[1].p_next is not None and rows[1].p_next < 0.01
    assert ranking.baseline_label == "T/s0"
    assert rows[0].p_baseline is not None and rows[0].p_baseline < 0.01
    for r in rows:
        lo, hi = r.ci["R1@0.7"]
        assert lo <= r.values["R1@0.7"] <= hi
    again = rank_matrices(GROUP, e, [], {"R1@0.7": x, "R1@0.5": x, "mAP": x}, RankSettings())
    assert [r.ci for r in again.rows] == [r.ci for r in rows]  # seeded
    flip = rank_matrices(
        GROUP, e, [], {"R1@0.7": x, "R1@0.5": x, "mAP": x}, RankSettings(test="signflip", permutations=2000)
    )
    assert [r.tier for r in flip.rows] == [1, 1, 2]


def test_unknown_baseline_is_a_note_not_a_crash() -> None:
    x = np.ones((2, 5))
    ranking = rank_matrices(
        GROUP,
        [_entry(0), _entry(1)],
        [],
        {"R1@0.7": x, "R1@0.5": x, "mAP": x},
        RankSettings(baseline="nope", resamples=200),
    )
    assert ranking.baseline_label is None and "no entry" in ranking.notes[0]


REF = Path(__file__).resolve().parents[2] / "amr_bench" / "data" / "reference_runs" / "qddetr_castella_val_preds.jsonl"


@pytest.fixture(scope="module")
def board(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("board")
    db = tmp / "b.sqlite"
    runner = CliRunner()
    lines = REF.read_bytes().splitlines()
    shifted = tmp / "shifted.jsonl"
    recs = [orjson.loads(line) for line in lines]
    for r in recs:
        r["pred_relevant_windows"] = [[w[0] + 4, w[1] + 4, *w[2:]] for w in r["pred_relevant_windows"]]
    shifted.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in recs))
    broken = tmp / "broken.jsonl"
    broken.write_bytes(b"\n".join(lines[:-1]) + b'\n{"qid": ')
    for f, team, system in ((REF, "LY", "qd-detr"), (REF, "LY2", "copy"), (shifted, "Z", "shifted")):
        res = runner.invoke(
            app,
            ["leaderboard", "add", str(f), "--gt", "castella/val", "--team", team, "--system", system, "--db", str(db)],
        )
        assert res.exit_code == 0, res.output
    res = runner.invoke(
        app,
        [
            "leaderboard",
            "add",
            str(broken),
            "--gt",
            "castella/val",
            "--team",
            "B",
            "--system",
            "broken",
            "--db",
            str(db),
        ],
    )
    assert res.exit_code == 1 and "broken.jsonl:352" in res.output
    return db


def test_cli_add_is_idempotent_and_rank_prints_ties(board: Path) -> None:
    runner = CliRunner()
    res = runner.invoke(
        app,
        [
            "leaderboard",
            "add",
            str(REF),
            "--gt",
            "castella/val",
            "--team",
            "LY",
            "--system",
            "qd-detr",
            "--db",
            str(board),
        ],
    )
    assert res.exit_code == 0 and "already stored" in res.output
    res = runner.invoke(
        app, ["leaderboard", "rank", "--dataset", "castella/val", "--db", str(board), "--baseline", "Z/shifted"]
    )
    assert res.exit_code == 0, res.output
    lines = res.stdout.splitlines()
    assert lines[0].startswith("== castella/val")
    table = res.stdout.splitlines()[2:]
    assert [line.split()[0] for line in table] == ["1=", "1=", "3", "-"]
    assert "16.19 (57/352)" in res.output and "INVALID" in table[-1]
    assert "note: tier: each row against its tier's leader" in res.stderr
    with Store(board) as st:
        ranking = rank_group(st, st.groups()[0], RankSettings(baseline="Z/shifted"))
    assert ranking.baseline_label == "Z/shifted"
    assert ranking.rows[0].p_baseline is not None


def test_cli_rank_usage_errors(board: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    res = runner.invoke(app, ["leaderboard", "rank", "--db", str(tmp_path / "none.sqlite")])
    assert res.exit_code == 2 and "no result store" in res.output
    res = runner.invoke(app, ["leaderboard", "rank", "--db", str(board), "--metric", "R1@0.66"])
    assert res.exit_code == 2 and "unknown metric" in res.output
    res = runner.invoke(app, ["leaderboard", "rank", "--db", str(board), "--dataset", "nope/x"])
    assert res.exit_code == 2


def test_cli_compare_identical_and_different(tmp_path: Path) -> None:
    runner = CliRunner()
    res = runner.invoke(app, ["compare", str(REF), str(REF), "--gt", "castella/val", "--permutations", "500"])
    assert res.exit_code == 0, res.output
    assert "paired bootstrap p = 1.0000; sign-flip randomisation p = 1.0000" in res.output
    assert "not significant" in res.output
    gt_lines = (
        (Path(__file__).resolve().parents[2] / "amr_bench" / "data" / "ground_truth" / "castella_val_release.jsonl")
        .read_bytes()
        .splitlines()
    )
    oracle = tmp_path / "oracle.jsonl"
    oracle.write_bytes(
        b"".join(
            orjson.dumps({"qid": g["qid"], "pred_relevant_windows": g["relevant_windows"]}) + b"\n"
            for g in map(orjson.loads, gt_lines)
        )
    )
    res = runner.invoke(app, ["compare", str(oracle), str(REF), "--gt", "castella/val", "--permutations", "500"])
    assert res.exit_code == 0 and "difference significant" in res.output
    # no resample or permutation as extreme: the p-values are bounds at the floor, not values
    assert "paired bootstrap p < 0.0010; sign-flip randomisation p < 0.0020 (500 permutations)" in res.output


def test_cli_render_writes_the_site(board: Path, tmp_path: Path) -> None:
    res = CliRunner().invoke(
        app, ["leaderboard", "render", "--db", str(board), "--out", str(tmp_path / "site"), "--resamples", "200"]
    )
    assert res.exit_code == 0, res.output
    html = (tmp_path / "site" / "castella.html").read_text("utf-8")
    assert "castella/val" in html and 'data-failed="1"' in html and "16.19" in html


def _tie_store(tmp_path: Path, systems: dict[str, list[list[float]]]) -> Store:
    """Six queries, each with two adjacent 4 s windows (a prediction over both has IoU 0.5 with each)."""
    import json

    from amr_bench.groundtruth import load_ground_truth
    from amr_bench.leaderboard.results import add_records

    gt_path = tmp_path / "gt.jsonl"
    rows = [
        {"qid": i, "query": "q", "vid": "v", "duration": 30.0, "relevant_windows": [[0, 4], [4, 8]]} for i in range(6)
    ]
    gt_path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    gt = load_ground_truth(gt_path)
    st = Store(tmp_path / "ties.sqlite")
    for name, windows in systems.items():
        preds = [{"qid": i, "pred_relevant_windows": windows} for i in range(6)]
        add_records(st, preds, gt, team="T", system=name, benchmark="ties", file_name=f"{name}.jsonl")
    return st


def test_an_entry_whose_rank_depends_on_the_equal_iou_tie_order_carries_a_note(tmp_path: Path) -> None:
    # A's second window repeats the earlier gt window, B's the later: matching the later window first
    # favours A (mAP 32.5 vs 27.5), the earlier first favours B; C has no tie and does not move.
    systems = {"A": [[0, 8], [0, 4]], "B": [[0, 8], [4, 8]], "C": [[20, 24]]}
    with _tie_store(tmp_path, systems) as st:
        settings = RankSettings(metric="mAP", tie_breaks=(), resamples=200)
        ranking = rank_group(st, st.groups()[0], settings)
        rows = {r.entry.system: r for r in ranking.rows}
        assert (rows["A"].rank, rows["B"].rank, rows["C"].rank) == (1, 2, 3)
        assert rows["A"].values["mAP"] == pytest.approx(0.325)
        for name, rank in (("A", 2), ("B", 1)):
            note = rows[name].tie_note
            assert note is not None and f"rank {rows[name].rank} -> {rank}" in note and "6 tie-sensitive" in note
        assert rows["C"].tie_note is None
        assert sum("T/A: " in n for n in ranking.notes) == 1
        from amr_bench.leaderboard.exports import group_document

        cells = {c["system"]: c for c in group_document(ranking)["entries"]}
        assert cells["A"]["tie_order_note"] == rows["A"].tie_note and cells["C"]["tie_order_note"] is None


def test_no_tie_order_note_without_ties(tmp_path: Path) -> None:
    with _tie_store(tmp_path, {"A": [[0, 4], [4, 8]], "B": [[0, 4]]}) as st:
        ranking = rank_group(st, st.groups()[0], RankSettings(resamples=200))
        assert all(r.tie_note is None for r in ranking.rows)
        assert not ranking.notes
