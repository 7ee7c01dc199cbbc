"""Ground-truth checks: every defect kind at its FILE:LINE, the known CASTELLA defects, and the
explicit cleaning step (which never rewrites qids and leaves the original untouched)."""

from __future__ import annotations

import json
from itertools import pairwise

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from amr_bench.cli import app
from amr_bench.datasets.checks import check_ground_truth, clean_ground_truth, clean_windows
from amr_bench.datasets.registry import find_split, sha256_file

runner = CliRunner()


def _line(qid, windows, duration=60, vid="v"):
    return json.dumps({"qid": qid, "query": "q", "duration": duration, "vid": vid, "relevant_windows": windows})


DEFECTS = [  # (line content, expected kind) -- one defect per line, line numbers follow
    (_line("a", [[1, 2]]), None),
    (_line("b", [[50, 61]]), "window past duration"),
    (_line("c", [[10, 20], [1, 5]]), "unsorted windows"),
    (_line("d", [[1, 10], [5, 12]]), "overlapping windows"),
    (_line("e", [[4, 4]]), "zero-length window"),
    (_line("f", [[59, 4800]]), "absurd window"),
    (_line("g", [[9, 3]]), "reversed window"),
    (_line("a", [[1, 2]]), "duplicate qid"),
    (_line(7, [[1, 2]]), "mixed qid types"),
    (_line("h", []), "no windows"),
    (_line("i", [[1, 2], [1, 2]]), "duplicate window"),
    (_line("j", [[1, 2]], duration=30), "inconsistent duration"),
]


@pytest.fixture
def defective(tmp_path):
    path = tmp_path / "gt.jsonl"
    path.write_text("\n".join(line for line, _ in DEFECTS) + "\n")
    return path


def test_each_defect_is_a_warning_on_its_line(defective):
    report = check_ground_truth(defective)
    found = {(p.line, p.message.split(":")[0]) for p in report.problems}
    expected = {(i + 1, kind) for i, (_, kind) in enumerate(DEFECTS) if kind}
    assert found == expected
    assert all(p.severity == "warning" for p in report.problems)
    assert all(str(p).startswith(f"{defective}:") for p in report.problems)


def test_known_castella_defects():
    train = check_ground_truth(find_split("castella/train").path)
    absurd = [p for p in train.problems if p.message.startswith("absurd window")]
    assert [(p.line, "[299, 4800]" in p.message) for p in absurd] == [(656, True)]
    for name in ("castella/train", "castella/val", "castella/test"):
        kinds = check_ground_truth(find_split(name).path).counts()
        assert kinds["window past duration"] > 0 and kinds["unsorted windows"] > 0, name
    for name in ("clotho-moment/val", "tut2017/test"):
        assert check_ground_truth(find_split(name).path).problems == []


def test_past_duration_is_found_exactly(tmp_path):
    entry = find_split("castella/test")
    report = check_ground_truth(entry.path)
    past = {p.line for p in report.problems if p.message.startswith("window past duration")}
    expected = set()
    for n, line in enumerate(entry.path.read_text(encoding="utf-8").splitlines(), 1):
        r = json.loads(line)
        if any(r["duration"] < e <= r["duration"] + 2 and e - s <= r["duration"] for s, e in r["relevant_windows"]):
            expected.add(n)
    assert past == expected


def test_clean_copy_fixes_everything_and_says_so(defective, tmp_path):
    before = defective.read_bytes()
    out = tmp_path / "clean.jsonl"
    changes = clean_ground_truth(defective, out)
    assert defective.read_bytes() == before
    remaining = {p.message.split(":")[0] for p in check_ground_truth(out).problems}
    # qids and durations are never rewritten: those findings stay
    assert remaining == {"mixed qid types", "inconsistent duration"}
    assert any(":2: clipped [50, 61] to [50, 60]" in c for c in changes)
    assert any(":6: dropped [59, 4800]" in c for c in changes)
    assert any(":8: dropped duplicate qid 'a'" in c for c in changes)
    qids = [orjson.loads(x)["qid"] for x in out.read_bytes().splitlines()]
    assert 7 in qids and qids.count("a") == 1


@given(st.lists(st.tuples(st.integers(-5, 70), st.integers(-5, 70)), max_size=8))
def test_clean_windows_are_valid_sorted_and_disjoint(pairs):
    windows, _ = clean_windows([list(p) for p in pairs], 60)
    for s, e in windows:
        assert 0 <= s < e <= 60
    assert all(a[1] <= b[0] for a, b in pairwise(windows))  # touching is fine


def test_cli_check_lists_defects_and_exit_codes(defective, tmp_path):
    result = runner.invoke(app, ["datasets", "check", str(defective)])
    assert result.exit_code == 0
    assert f"{defective}:6: warning: absurd window" in result.stdout
    strict = runner.invoke(app, ["datasets", "check", str(defective), "--strict"])
    assert strict.exit_code == 1
    out = tmp_path / "c.jsonl"
    cleaned = runner.invoke(app, ["datasets", "check", str(defective), "--write-clean", str(out)])
    assert cleaned.exit_code == 0 and out.is_file()
    assert "changed:" in cleaned.stdout


def test_cli_check_bundled_split_and_data_root(tmp_path):
    entry = find_split("castella/train")
    sha = sha256_file(entry.path)
    result = runner.invoke(app, ["datasets", "check", "castella/train"])
    assert result.exit_code == 0
    assert f"{entry.path}:656: warning: absurd window" in result.stdout
    assert sha256_file(entry.path) == sha
    (tmp_path / "val.jsonl").write_text(_line("x", [[1, 2]]) + "\n")
    ok = runner.invoke(app, ["datasets", "check", "val", "--data", str(tmp_path)])
    assert ok.exit_code == 0 and "no defects" in ok.stdout
    missing = runner.invoke(app, ["datasets", "check", "test", "--data", str(tmp_path)])
    assert missing.exit_code == 2


def test_cli_check_unreadable_line_is_an_error(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text(_line("a", [[1, 2]]) + "\n{not json\n")
    result = runner.invoke(app, ["datasets", "check", str(path)])
    assert result.exit_code == 1
    assert f"{path}:2: error" in result.output
