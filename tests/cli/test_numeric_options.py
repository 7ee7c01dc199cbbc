"""Numeric options are strict: length edges, seeds, resamples and permutations, ``check --expect``."""

import json

import pytest

from tests.helpers.cli import invoke

# --- numbers ------------------------------------------------------------------------------------


@pytest.mark.parametrize("edges", ["30,10", "-5", "", "10,10", "nan", "inf", "10,,30", "0,10", "ten"])
def test_length_edges_must_be_strictly_increasing_positive_finite(files, edges) -> None:
    result = invoke(["score", files["run"], "--gt", files["gt"], "--length-edges", edges])
    assert result.exit_code == 2 and "--length-edges" in result.output


@pytest.mark.parametrize(
    "args",
    [
        ["leaderboard", "rank", "--seed", "-1"],
        ["leaderboard", "render", "--seed", "-1"],
        ["compare", "{run}", "{run}", "--gt", "{gt}", "--seed", "-1"],
        ["compare", "{run}", "{run}", "--gt", "{gt}", "--permutations", "0"],
        ["compare", "{run}", "{run}", "--gt", "{gt}", "--permutations", "-5"],
        ["compare", "{run}", "{run}", "--gt", "{gt}", "--resamples", "100000000"],
        ["leaderboard", "rank", "--resamples", "100000000"],
    ],
)
def test_seeds_permutations_and_resamples_are_bounded(files, args) -> None:
    result = invoke([a.format(run=files["run"], gt=files["gt"]) for a in args])
    assert result.exit_code == 2
    option = next(a for a in args if a in ("--seed", "--permutations", "--resamples"))
    assert option in result.output


def test_resample_matrix_larger_than_the_memory_cap_is_refused_not_a_memory_error() -> None:
    from amr_bench import stats

    with pytest.raises(stats.ResampleLimitError, match="use at most"):
        stats.resample_counts(6649, 100_000, 0)
    with pytest.raises(ValueError):
        stats.signflip_pvalues([[1.0, 0.0], [0.0, 1.0]], [(0, 1)], n_permutations=0)


@pytest.mark.parametrize(
    "expected, needle",
    [
        ('{"brief": {"MR-full-R1@0.7": NaN}}', "NaN"),
        ('{"brief": {"MR-full-R1@0.7": Infinity}}', "Infinity"),
        ('{"brief": {"MR-full-R1@0.7": 1' + "0" * 400 + "}}", "beyond the range"),
        ('{"brief": {"MR-full-R1@0.7": 1e400}}', "not finite"),
        ("[" * 5000 + "]" * 5000, "nested too deeply"),
        ('{"a":' * 100 + "1" + "}" * 100, "levels deep"),
        ("[]", "nothing to compare"),
        ("{}", "nothing to compare"),
        ("true", "nothing to compare"),
    ],
)
def test_check_expect_refuses_non_numbers_and_nothing_to_compare(files, tmp_path, expected, needle) -> None:
    metrics = tmp_path / "m.json"
    assert invoke(["score", files["run"], "--gt", files["gt"], "-q", "-o", metrics]).exit_code == 0
    exp = tmp_path / "expect.json"
    exp.write_text(expected)
    result = invoke(["check", metrics, "--expect", exp])
    assert result.exit_code == 1 and needle in result.output and str(exp) in result.output


def test_check_states_the_tolerance_unit(files, tmp_path) -> None:
    metrics = tmp_path / "m.json"
    assert invoke(["score", files["run"], "--gt", files["gt"], "-q", "-o", metrics]).exit_code == 0
    doc = json.loads(metrics.read_text())
    exp = tmp_path / "e.json"
    exp.write_text(json.dumps({"brief": doc["brief"]}))
    assert "within 0.01 percentage points" in invoke(["check", metrics, "--expect", exp]).output
    exp.write_text(json.dumps({"raw": {"mIoU@1": doc["raw"]["mIoU@1"] + 0.5}}))
    moved = invoke(["check", metrics, "--expect", exp])
    assert moved.exit_code == 1 and "tolerance 0.01 fraction" in moved.output
    assert "percentage points" in invoke(["check", "--help"]).output
