"""Every validation error path, through the CLI: file:line messages, exit statuses, no traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from amr_bench.cli import app

runner = CliRunner()

GT_LINES = [
    {"qid": 1, "query": "a dog barks", "duration": 30, "vid": "v1", "relevant_windows": [[1, 5]]},
    {"qid": 2, "query": "rain", "duration": 30, "vid": "v2", "relevant_windows": [[0, 10], [20, 25]]},
    {"qid": "x3", "query": "a car", "duration": 30, "vid": "v3", "relevant_windows": [[3, 9]]},
]
GOOD = [
    '{"qid": 1, "pred_relevant_windows": [[1, 5, 0.9], [0, 2, 0.5]]}',
    '{"qid": 2, "pred_relevant_windows": [[0, 10]]}',
    '{"qid": "x3", "query": "a car", "vid": "v3", "pred_relevant_windows": [[3, 9, 1.0]]}',
]


@pytest.fixture()
def gt(tmp_path: Path) -> Path:
    p = tmp_path / "gt.jsonl"
    p.write_text("".join(json.dumps(d) + "\n" for d in GT_LINES))
    return p


def run(tmp_path: Path, gt: Path, content: str | bytes, command: str = "validate"):
    sub = tmp_path / "run.jsonl"
    if isinstance(content, bytes):
        sub.write_bytes(content)
    else:
        sub.write_text(content)
    result = runner.invoke(app, [command, str(sub), "--gt", str(gt)])
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result, f"{sub}"


def lines(*replaced: tuple[int, str]) -> str:
    out = list(GOOD)
    for i, text in replaced:
        out[i] = text
    return "\n".join(out) + "\n"


def test_valid_submission_passes(tmp_path, gt):
    result, _ = run(tmp_path, gt, lines())
    assert result.exit_code == 0, result.output
    assert "valid (3 queries" in result.output


ERROR_CASES = {
    "invalid json": ((1, '{"qid": 2, "pred_relevant_windows": [[0, 10]'), 2, "invalid JSON"),
    "not an object": ((1, "[2, [[0, 10]]]"), 2, "expected a JSON object"),
    "missing field": ((1, '{"qid": 2}'), 2, "missing required field 'pred_relevant_windows'"),
    "misspelled field": (
        (1, '{"qid": 2, "pred_relevant_window": [[0, 10]]}'),
        2,
        "found 'pred_relevant_window': misspelled?",
    ),
    "qid wrong type": ((1, '{"qid": 2.5, "pred_relevant_windows": [[0, 10]]}'), 2, "qid: expected integer or string"),
    "qid boolean": ((1, '{"qid": true, "pred_relevant_windows": [[0, 10]]}'), 2, "qid: expected integer or string"),
    "windows not a list": (
        (1, '{"qid": 2, "pred_relevant_windows": "0-10"}'),
        2,
        "pred_relevant_windows: expected array",
    ),
    "empty window list": ((1, '{"qid": 2, "pred_relevant_windows": []}'), 2, "pred_relevant_windows is empty"),
    "wrong arity": ((1, '{"qid": 2, "pred_relevant_windows": [[0, 10, 0.5, 1]]}'), 2, "found 4"),
    "one value": ((1, '{"qid": 2, "pred_relevant_windows": [[0]]}'), 2, "found 1"),
    "mixed arity": ((1, '{"qid": 2, "pred_relevant_windows": [[0, 10, 0.9], [3, 4]]}'), 2, "mix [start, end]"),
    "string score": ((1, '{"qid": 2, "pred_relevant_windows": [[0, 10, "0.9"]]}'), 2, "not a string"),
    "string time": ((1, '{"qid": 2, "pred_relevant_windows": [["0", 10]]}'), 2, "expected number, found string"),
    "NaN literal": ((1, '{"qid": 2, "pred_relevant_windows": [[NaN, 10]]}'), 2, "NaN and Infinity are not allowed"),
    "Infinity literal": ((1, '{"qid": 2, "pred_relevant_windows": [[0, Infinity]]}'), 2, "NaN and Infinity"),
    "NaN score": ((1, '{"qid": 2, "pred_relevant_windows": [[0, 10, NaN]]}'), 2, "score nan"),
    "huge number": ((1, '{"qid": 2, "pred_relevant_windows": [[0, 1e999]]}'), 2, "NaN and Infinity"),
    "negative start": ((1, '{"qid": 2, "pred_relevant_windows": [[-1, 10]]}'), 2, "negative start -1"),
    "start after end": ((1, '{"qid": 2, "pred_relevant_windows": [[0, 10], [9, 4]]}'), 2, "start 9 > end 4"),
    "unknown qid": ((1, '{"qid": 99, "pred_relevant_windows": [[0, 10]]}'), 2, "qid 99 is not in the ground truth"),
}


@pytest.mark.parametrize("name", sorted(ERROR_CASES))
def test_each_error_is_reported_with_file_and_line(tmp_path, gt, name):
    (index, text), line, needle = ERROR_CASES[name]
    result, path = run(tmp_path, gt, lines((index, text)))
    assert result.exit_code == 1, result.output
    matching = [ln for ln in result.output.splitlines() if needle in ln]
    assert matching, result.output
    assert any(ln.startswith(f"{path}:{line}: error:") for ln in matching), result.output


def test_score_validates_first_and_exits_1(tmp_path, gt):
    result, path = run(tmp_path, gt, lines((1, '{"qid": 2, "pred_relevant_windows": [[9, 4]]}')), "score")
    assert result.exit_code == 1
    assert f"{path}:2: error:" in result.output


def test_all_problems_are_reported_not_just_the_first(tmp_path, gt):
    content = (
        "\n".join(
            [
                '{"qid": 1, "pred_relevant_windows": [[1, "5"]]}',
                '{"qid": 2, "pred_relevant_windows": [[-1, 10]]}',
                '{"qid": "x3", "pred_relevant_windows": [[9, 3]]}',
            ]
        )
        + "\n"
    )
    result, path = run(tmp_path, gt, content)
    assert result.exit_code == 1
    for n in (1, 2, 3):
        assert f"{path}:{n}: error:" in result.output


def test_duplicate_qid_names_both_lines(tmp_path, gt):
    result, path = run(tmp_path, gt, lines() + GOOD[0] + "\n")
    assert result.exit_code == 1
    assert f"{path}:4: error: duplicate qid 1: also on line 1" in result.output


def test_missing_ground_truth_queries_are_named(tmp_path, gt):
    result, _path = run(tmp_path, gt, "\n".join(GOOD[:2]) + "\n")
    assert result.exit_code == 1
    assert "1 of 3 ground-truth queries have no line in the submission: 'x3' (gt line 3)" in result.output


def test_missing_queries_summarised_beyond_twenty(tmp_path):
    gt = tmp_path / "big.jsonl"
    gt.write_text(
        "".join(
            json.dumps({"qid": i, "query": "q", "duration": 9, "vid": "v", "relevant_windows": [[0, 1]]}) + "\n"
            for i in range(30)
        )
    )
    result, _ = run(tmp_path, gt, '{"qid": 0, "pred_relevant_windows": [[0, 1]]}\n')
    assert "29 of 30 ground-truth queries" in result.output
    assert "and 9 more" in result.output


def test_non_utf8_bytes(tmp_path, gt):
    content = (lines().replace('"a car"', '"a c\\u00e9r"')).encode()
    bad = content.replace(b'"x3", "query": "a c', b'"x3", "query": "a c\xff')
    result, path = run(tmp_path, gt, bad)
    assert result.exit_code == 1
    assert f"{path}:3: error: invalid UTF-8 byte" in result.output


def test_empty_file(tmp_path, gt):
    result, _path = run(tmp_path, gt, "")
    assert result.exit_code == 1
    assert "the file is empty" in result.output


def test_json_array_instead_of_json_lines(tmp_path, gt):
    result, path = run(tmp_path, gt, "[" + ",".join(GOOD) + "]\n")
    assert result.exit_code == 1
    assert f"{path}:1: error: found a JSON array; expected JSON Lines" in result.output


WARNING_CASES = {
    "past duration": ((1, '{"qid": 2, "pred_relevant_windows": [[0, 31]]}'), "past the ground-truth duration 30"),
    "more than ten": (
        (1, '{"qid": 2, "pred_relevant_windows": ' + json.dumps([[0, 10]] * 11) + "}"),
        "only the first 10",
    ),
    "unsorted scores": (
        (1, '{"qid": 2, "pred_relevant_windows": [[0, 10, 0.1], [0, 5, 0.9]]}'),
        "not in descending order",
    ),
    "zero length": ((1, '{"qid": 2, "pred_relevant_windows": [[3, 3]]}'), "zero-length window"),
    "unknown field": (
        (1, '{"qid": 2, "qurey": "x", "pred_relevant_windows": [[0, 10]]}'),
        "unknown field 'qurey' ignored (did you mean 'query'?)",
    ),
    "qid as string": ((1, '{"qid": "2", "pred_relevant_windows": [[0, 10]]}'), "converting between integer and string"),
}


@pytest.mark.parametrize("name", sorted(WARNING_CASES))
def test_warnings_do_not_fail_validation(tmp_path, gt, name):
    (index, text), needle = WARNING_CASES[name]
    result, path = run(tmp_path, gt, lines((index, text)))
    assert result.exit_code == 0, result.output
    assert f"{path}:2: warning:" in result.output and needle in result.output


def test_qid_type_conversion_is_scored_with_a_warning(tmp_path, gt):
    result, _ = run(tmp_path, gt, lines((1, '{"qid": "2", "pred_relevant_windows": [[0, 10]]}')), "score")
    assert result.exit_code == 0
    assert "converting between integer and string" in result.output


def test_both_forms_of_one_qid_are_duplicates(tmp_path, gt):
    result, _path = run(tmp_path, gt, lines() + '{"qid": "1", "pred_relevant_windows": [[0, 1]]}\n')
    assert result.exit_code == 1
    assert "duplicate qid '1': also on line 1" in result.output


def test_blind_query_list_validates_but_does_not_score(tmp_path):
    from amr_bench.datasets.registry import find_split
    from amr_bench.jsonl import read_jsonl

    entry = find_split("dcase2026/eval")
    assert entry is not None
    queries = read_jsonl(entry.path).records
    sub = tmp_path / "eval.jsonl"
    sub.write_text("".join(json.dumps({"qid": q["qid"], "pred_relevant_windows": [[0, 5]]}) + "\n" for q in queries))
    ok = runner.invoke(app, ["validate", str(sub), "--gt", "dcase2026/eval"])
    assert ok.exit_code == 0, ok.output
    no = runner.invoke(app, ["score", str(sub), "--gt", "dcase2026/eval"])
    assert no.exit_code == 1 and "can validate a submission, not score it" in no.output


@pytest.mark.parametrize(
    "args, needle",
    [
        (["score", "run.jsonl", "--gt", "nosuch/split"], "neither a file nor a bundled split"),
        (["score", "missing.jsonl", "--gt", "castella/val"], "does not exist"),
        (["score", "run.jsonl"], "--gt is needed"),
        (["score", "run.jsonl", "--gt", "castella/val", "--length-edges", "ten"], "--length-edges"),
        (["check", "m.json"], "Missing option"),
    ],
)
def test_usage_errors_exit_2(tmp_path, monkeypatch, args, needle):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "run.jsonl").write_text(GOOD[0] + "\n")
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert needle in result.output
    assert "Traceback" not in result.output


def test_many_problems_of_one_kind_are_summarised_and_all_lists_them(tmp_path):
    gt = tmp_path / "gt.jsonl"
    gt.write_text(
        "".join(
            json.dumps({"qid": i, "query": "q", "duration": 9, "vid": "v", "relevant_windows": [[0, 1]]}) + "\n"
            for i in range(30)
        )
    )
    sub = tmp_path / "run.jsonl"
    sub.write_text("".join(json.dumps({"qid": 100 + i, "pred_relevant_windows": [[0, 1]]}) + "\n" for i in range(30)))
    result = runner.invoke(app, ["score", str(sub), "--gt", str(gt)])
    assert result.exit_code == 1
    assert result.output.count("is not in the ground truth") == 10
    assert "... and 20 more error(s) of kind 'unknown-qid'" in result.output
    assert "is this the right --gt split?" in result.output
    full = runner.invoke(app, ["validate", str(sub), "--gt", str(gt), "--all"])
    assert full.exit_code == 1 and full.output.count("is not in the ground truth") == 30


def test_ground_truth_with_a_duplicate_qid_is_rejected_naming_both_lines(tmp_path):
    gt = tmp_path / "gt.jsonl"
    gt.write_text("".join(json.dumps(d) + "\n" for d in [*GT_LINES, GT_LINES[0]]))
    result, _ = run(tmp_path, gt, lines(), "score")
    assert result.exit_code == 1
    assert f"{gt}:4: error: duplicate qid 1 (first on line 1)" in result.output
