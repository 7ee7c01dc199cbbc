"""Hostile submissions and ground truths on the read path: every one is a FILE:LINE error (or a
clear whole-file error), exit 1, never a traceback, never a silent change of meaning, and bounded
memory. Each test here failed on the code before the read path was hardened."""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from amr_bench import jsonl, records, schema_errors
from amr_bench.cli import app
from amr_bench.datasets.checks import check_ground_truth
from amr_bench.errors import InputError
from amr_bench.groundtruth import load_ground_truth
from amr_bench.jsonl import read_jsonl
from amr_bench.scoring import score, score_report
from amr_bench.validation import validate

runner = CliRunner()

GT = [
    {"qid": 1, "query": "a dog barks", "duration": 30, "vid": "v1", "relevant_windows": [[1, 5]]},
    {"qid": 2, "query": "rain", "duration": 30, "vid": "v2", "relevant_windows": [[0, 10], [20, 25]]},
]
GOOD_LINE_2 = '{"qid": 2, "pred_relevant_windows": [[0, 10]]}'


def write(path: Path, lines: list[str] | bytes) -> Path:
    if isinstance(lines, bytes):
        path.write_bytes(lines)
    else:
        path.write_text("".join(ln + "\n" for ln in lines), encoding="utf-8", errors="surrogatepass")
    return path


@pytest.fixture()
def gt(tmp_path: Path) -> Path:
    return write(tmp_path / "gt.jsonl", [json.dumps(d) for d in GT])


def cli(*args: str):
    result = runner.invoke(app, list(args))
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    return result


def error_at(result, path: Path, line: int, needle: str) -> bool:
    return any(ln.startswith(f"{path}:{line}: error:") and needle in ln for ln in result.output.splitlines())


def test_json_nested_1000_deep_is_an_error_on_its_line(tmp_path, gt):
    deep = "[" * 1000 + "]" * 1000
    sub = write(tmp_path / "run.jsonl", [f'{{"qid": 1, "pred_relevant_windows": {deep}}}', GOOD_LINE_2])
    result = cli("validate", str(sub), "--gt", str(gt))
    assert result.exit_code == 1
    assert error_at(result, sub, 1, "nested more than"), result.output


def test_a_deep_line_that_is_not_an_object_is_an_error_too(tmp_path, gt):
    sub = write(tmp_path / "run.jsonl", [GOOD_LINE_2, "[" * 900 + "]" * 900])
    result = cli("validate", str(sub), "--gt", str(gt))
    assert result.exit_code == 1 and error_at(result, sub, 2, "nested more than"), result.output


def test_many_invalid_windows_on_a_line_are_explained_up_to_a_bound(tmp_path, gt):
    windows = [[0, 1]] * 200 + [["1", "2"]] * 100
    sub = write(tmp_path / "run.jsonl", [json.dumps({"qid": 1, "pred_relevant_windows": windows}), GOOD_LINE_2])
    report = validate(sub, gt)
    line1 = [p for p in report.errors if p.line == 1]
    assert any("pred_relevant_windows[200][0]: expected number, found string '1'" in p.message for p in line1)
    assert not any("pred_relevant_windows[0]" in p.message for p in line1)  # numbers of the file, not of a cut
    assert any("80 more invalid window(s) on this line" in p.message for p in line1)
    assert len(line1) <= 2 * schema_errors.EXPLAINED_WINDOWS + 2


def test_many_invalid_lines_are_counted_beyond_a_bound(tmp_path, gt, monkeypatch):
    monkeypatch.setattr(records, "EXPLAINED_LINES", 5)
    bad = [json.dumps({"qid": 1000 + i, "pred_relevant_windows": [["1", "2"]]}) for i in range(50)]
    sub = write(tmp_path / "run.jsonl", [*bad, GOOD_LINE_2])
    report = validate(sub, gt)
    schema = [p for p in report.errors if p.code.startswith("schema")]
    assert len({p.line for p in schema}) == 6
    summary = [p for p in schema if p.code == "schema-more"]
    assert len(summary) == 1 and summary[0].line == 6 and summary[0].message.startswith("45 more line(s)")


def test_a_lone_surrogate_is_an_error_on_its_line(tmp_path, gt):
    sub = write(tmp_path / "run.jsonl", ['{"qid": "\\ud800", "pred_relevant_windows": [[0, 1]]}', GOOD_LINE_2])
    result = cli("validate", str(sub), "--gt", str(gt))
    assert result.exit_code == 1 and error_at(result, sub, 1, "lone UTF-16 surrogate"), result.output


def test_integer_qids_beyond_64_bits_stay_exact(tmp_path):
    big = 2**70
    gt = write(
        tmp_path / "gt.jsonl",
        [json.dumps({**GT[0], "qid": big}), json.dumps({**GT[1], "qid": big + 1})],
    )
    g = load_ground_truth(gt)
    assert g.qids == [big, big + 1] and all(type(q) is int for q in g.qids)
    ok = write(
        tmp_path / "ok.jsonl",
        [
            f'{{"qid": {big + 1}, "pred_relevant_windows": [[0, 10]]}}',
            f'{{"qid": {big}, "pred_relevant_windows": [[1, 5]]}}',
        ],
    )
    assert validate(ok, g).ok
    assert score(ok, g).brief["MR-full-R1@0.5"] == 100.0
    twice = write(tmp_path / "twice.jsonl", [f'{{"qid": {big}, "pred_relevant_windows": [[1, 5]]}}'] * 2)
    report = validate(twice, g)
    assert any(p.code == "duplicate-qid" for p in report.errors)
    assert any(p.code == "missing-qid" and str(big + 1) in p.message for p in report.errors)


@pytest.mark.parametrize("qid", ["1.0", "1e0", "1E+0"])
def test_a_qid_written_as_a_float_is_an_error(tmp_path, gt, qid):
    sub = write(tmp_path / "run.jsonl", [f'{{"qid": {qid}, "pred_relevant_windows": [[1, 5]]}}', GOOD_LINE_2])
    result = cli("score", str(sub), "--gt", str(gt))
    assert result.exit_code == 1 and error_at(result, sub, 1, "decimal point or an exponent"), result.output
    assert "have no line in the submission" not in result.output


def test_a_float_qid_in_a_ground_truth_is_an_error(tmp_path):
    gt = write(tmp_path / "gt.jsonl", [json.dumps(GT[0]).replace('"qid": 1', '"qid": 1.0'), json.dumps(GT[1])])
    with pytest.raises(InputError) as exc:
        load_ground_truth(gt)
    assert any(p.line == 1 and p.code == "qid-number" for p in exc.value.problems)


@pytest.mark.parametrize("qid", ['"1\\n"', '" 1"', '"01"', '"+1"'])
def test_a_qid_string_is_never_silently_the_integer(tmp_path, gt, qid):
    sub = write(tmp_path / "run.jsonl", [f'{{"qid": {qid}, "pred_relevant_windows": [[1, 5]]}}', GOOD_LINE_2])
    report = validate(sub, gt)
    assert not report.ok
    assert any(p.line == 1 and p.code == "unknown-qid" for p in report.errors)


def test_duplicate_keys_are_an_error_naming_the_key(tmp_path, gt):
    sub = write(
        tmp_path / "run.jsonl",
        ['{"qid": 1, "pred_relevant_windows": [[1, 5]], "qid": 2}', '{"qid": 2, "pred_relevant_windows": [[0, 10]]}'],
    )
    result = cli("validate", str(sub), "--gt", str(gt))
    assert result.exit_code == 1 and error_at(result, sub, 1, "duplicate key 'qid'"), result.output


def test_colons_inside_strings_are_not_duplicate_keys(tmp_path):
    gt = write(tmp_path / "gt.jsonl", [json.dumps({**GT[0], "qid": "a:b", "query": "at 10:30: rain"})])
    assert load_ground_truth(gt).qids == ["a:b"]


def test_gzip_input_is_recognised_and_jsonl_gz_is_read(tmp_path, gt):
    plain = write(tmp_path / "run.jsonl", ['{"qid": 1, "pred_relevant_windows": [[1, 5]]}', GOOD_LINE_2])
    packed = gzip.compress(plain.read_bytes())
    disguised = write(tmp_path / "packed.jsonl", packed)
    result = cli("validate", str(disguised), "--gt", str(gt))
    assert result.exit_code == 1
    assert "compressed input (gzip)" in result.output and "invalid UTF-8" not in result.output
    named = write(tmp_path / "run.jsonl.gz", packed)
    assert score(named, gt).to_dict()["brief"] == score(plain, gt).to_dict()["brief"]
    truncated = write(tmp_path / "cut.jsonl.gz", packed[:-8])
    assert cli("validate", str(truncated), "--gt", str(gt)).exit_code == 1


def test_a_device_without_newlines_is_read_with_a_bound(monkeypatch):
    monkeypatch.setattr(jsonl, "MAX_LINE_BYTES", 2**20)
    with pytest.raises(InputError, match="longer than"):
        read_jsonl("/dev/zero")


def test_a_long_line_in_a_regular_file_is_an_error_on_its_line(tmp_path, gt, monkeypatch):
    monkeypatch.setattr(jsonl, "MAX_LINE_BYTES", 100)
    sub = write(tmp_path / "run.jsonl", [GOOD_LINE_2, json.dumps({"qid": 1, "pred_relevant_windows": [[1, 5]] * 50})])
    report = validate(sub, gt)
    assert any(p.line == 2 and p.code == "line-too-long" for p in report.errors)


def test_an_unreadable_ground_truth_is_a_clear_error(tmp_path):
    sub = write(tmp_path / "run.jsonl", [GOOD_LINE_2])
    folder = tmp_path / "gt_dir"
    folder.mkdir()
    result = cli("score", str(sub), "--gt", str(folder))
    assert result.exit_code in (1, 2) and str(folder) in result.output
    with pytest.raises(InputError, match="is a directory"):
        read_jsonl(folder)


def test_a_ground_truth_with_nothing_to_score_is_an_error_not_nan(tmp_path):
    gt = write(tmp_path / "gt.jsonl", [json.dumps({**GT[0], "duration": 3000, "relevant_windows": [[0, 2000]]})])
    sub = write(tmp_path / "run.jsonl", ['{"qid": 1, "pred_relevant_windows": [[1, 5]]}'])
    result = cli("score", str(sub), "--gt", str(gt), "-o", "-")
    assert result.exit_code == 1 and "nothing to score" in result.output
    assert "NaN" not in result.output


def test_the_result_json_refuses_non_finite_numbers(tmp_path, gt):
    sub = write(tmp_path / "run.jsonl", ['{"qid": 1, "pred_relevant_windows": [[1, 5]]}', GOOD_LINE_2])
    result = score(sub, gt)
    assert json.loads(result.to_json()) == json.loads(json.dumps(result.to_dict()))
    result.raw["mIoU@1"] = float("nan")
    with pytest.raises(ValueError):
        result.to_json()


def test_the_blind_split_is_refused_by_the_library_scoring_function(tmp_path):
    queries = read_jsonl(load_ground_truth("dcase2026/eval").path).records
    sub = write(
        tmp_path / "eval.jsonl", [json.dumps({"qid": q["qid"], "pred_relevant_windows": [[0, 5]]}) for q in queries]
    )
    report = validate(sub, "dcase2026/eval")
    assert report.ok
    with pytest.raises(InputError, match="blind query list"):
        score_report(report)


@pytest.mark.parametrize(
    "window, code", [([9, 3], "reversed-window"), ([float("nan"), 3], "non-finite"), ([1, float("inf")], "non-finite")]
)
def test_reversed_or_nan_ground_truth_windows_are_errors_on_their_line(tmp_path, window, code):
    lines = [json.dumps(GT[0]), json.dumps({**GT[1], "relevant_windows": [[0, 10], window]})]
    gt = write(tmp_path / "gt.jsonl", lines)
    with pytest.raises(InputError) as exc:
        load_ground_truth(gt)
    assert [(p.line, p.code) for p in exc.value.problems if p.is_error] == [(2, code)]


@pytest.mark.parametrize("missing", ["query", "vid"])
def test_datasets_check_runs_the_schema_of_validate(tmp_path, missing):
    bad = {k: v for k, v in GT[1].items() if k != missing}
    gt = write(tmp_path / "gt.jsonl", [json.dumps(GT[0]), json.dumps(bad), json.dumps({**GT[0], "qid": 3, "vid": 7})])
    report = check_ground_truth(gt)
    assert {(p.line, p.is_error) for p in report.errors} == {(2, True), (3, True)}
    assert any(f"missing required field {missing!r}" in p.message for p in report.errors)
    assert cli("datasets", "check", str(gt)).exit_code == 1


# ---------------------------------------------------------------- property: malformed JSON Lines

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=8,
)
malformed_lines = st.one_of(
    st.binary(min_size=1, max_size=40).filter(lambda b: b.strip() and b"\n" not in b and b"\r" not in b),
    json_values.map(lambda v: json.dumps(v).encode()),
    st.sampled_from(
        [
            b'{"qid": 1, "pred_relevant_windows": [[0, 1]]',
            b'{"qid": 1, "qid": 2, "pred_relevant_windows": [[0, 1]]}',
            b'{"qid": 1.0, "pred_relevant_windows": [[0, 1]]}',
            b'{"qid": "\\udc00", "pred_relevant_windows": [[0, 1]]}',
            b'{"qid": 1, "pred_relevant_windows": [["1", "2"]]}',
            b'{"qid": 1, "pred_relevant_windows": [[NaN, 1]]}',
            b'{"qid": 1, "pred_relevant_windows": ' + b"[" * 1000 + b"]" * 1000 + b"}",
            b"\x1f\x8b\x08\x00garbage",
            b"\xff\xfe{}",
        ]
    ),
)


@settings(max_examples=60)
@given(st.lists(malformed_lines, min_size=1, max_size=4), st.integers(0, 3))
def test_malformed_json_lines_never_crash_and_name_file_and_line(tmp_path_factory, bad_lines, where):
    folder = tmp_path_factory.mktemp("prop")
    gt = write(folder / "gt.jsonl", [json.dumps(d) for d in GT])
    good = [b'{"qid": 1, "pred_relevant_windows": [[1, 5]]}', GOOD_LINE_2.encode()]
    content = good[: where % 3] + bad_lines + good[where % 3 :]
    sub = write(folder / "run.jsonl", b"\n".join(content) + b"\n")
    for command in ("validate", "score"):
        result = cli(command, str(sub), "--gt", str(gt))
        assert result.exit_code == 1, result.output
        assert re.search(rf"^{re.escape(str(sub))}(:\d+)?: error: ", result.output, re.M), result.output


def test_window_problems_of_one_kind_are_listed_up_to_a_bound_then_counted(tmp_path, monkeypatch):
    from amr_bench import validation

    monkeypatch.setattr(validation, "LISTED_PER_KIND", 2)
    gt = write(tmp_path / "gt.jsonl", [json.dumps({**GT[0], "qid": i}) for i in range(5)])
    sub = write(
        tmp_path / "run.jsonl",
        [f'{{"qid": {i}, "pred_relevant_windows": [[1, 5, 0.1], [0, 2, 0.9]]}}' for i in range(5)],
    )
    unsorted = [p for p in validate(sub, gt).warnings if p.code == "unsorted-scores"]
    assert [p.line for p in unsorted] == [1, 2, 3]
    assert unsorted[2].message.startswith("and 3 more line(s) like the 2 listed")


@settings(max_examples=25)
@given(st.integers(1, 400), st.lists(malformed_lines, max_size=3), st.integers(0, 60))
def test_reading_in_chunks_changes_nothing(tmp_path_factory, chunk_bytes, bad_lines, n_good):
    folder = tmp_path_factory.mktemp("chunks")
    gt_lines = [json.dumps({**GT[0], "qid": i, "relevant_windows": [[i % 7, i % 7 + 3]]}) for i in range(n_good)]
    gt = write(folder / "gt.jsonl", [*gt_lines, json.dumps({**GT[1], "qid": "last"})])
    good = [
        f'{{"qid": {i}, "pred_relevant_windows": [[1, 5, 0.{i % 9}], [0, 2, 0.5]]}}'.encode() for i in range(n_good)
    ]
    sub = write(folder / "run.jsonl", b"\n".join(good[: n_good // 2] + bad_lines + good[n_good // 2 :]) + b"\n\n")
    whole = validate(sub, gt)
    original = jsonl.CHUNK_BYTES
    try:
        jsonl.CHUNK_BYTES = chunk_bytes
        chunked = validate(sub, gt)
        gt_chunked = load_ground_truth(gt)
    finally:
        jsonl.CHUNK_BYTES = original
    assert chunked.problems == whole.problems
    assert chunked.submission.lines == whole.submission.lines and chunked.submission.qids == whole.submission.qids
    for key in ("start", "end", "score", "offsets", "has_score"):
        assert np.array_equal(
            getattr(chunked.submission.windows, key), getattr(whole.submission.windows, key), equal_nan=True
        )
    assert gt_chunked.qids == whole.ground_truth.qids and gt_chunked.lines == whole.ground_truth.lines


def test_schema_errors_leave_no_reference_cycles_behind():
    """The cyclic collector is off while files are read: explaining invalid lines must not leave
    garbage only it could free (1 GB for 3,000 invalid lines before)."""
    import gc

    record = {"qid": 1, "pred_relevant_windows": [["1", "2"]] * 30 + [[1, 2, 3, 4]]}
    gc.collect()
    gc.disable()
    try:
        for _ in range(20):
            assert schema_errors.schema_problems(record, "f", 1, records.SUBMISSION)
            assert not schema_errors.schema_accepts({"qid": [1], "pred_relevant_windows": [[1, 2]]}, records.SUBMISSION)
        assert gc.collect() == 0
    finally:
        gc.enable()


def test_a_gzip_bomb_stops_at_the_size_bound(tmp_path, monkeypatch):
    monkeypatch.setattr(jsonl, "MAX_FILE_BYTES", 2**20)
    bomb = write(tmp_path / "bomb.jsonl.gz", gzip.compress(b"\n" * (8 * 2**20)))
    with pytest.raises(InputError, match="decompresses to more than"):
        read_jsonl(bomb)
