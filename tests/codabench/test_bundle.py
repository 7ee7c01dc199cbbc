"""``amr-bench codabench``: the bundle, its yaml against the v2 unpacker's rules, the scoring program.

The organisers' ground truth here is made up (the DCASE 2026 evaluation queries with windows at
odd fractional seconds, ``*.137`` to ``*.387``, which no example or page would write by chance), so
that a leak of any window into what participants can download would be found by text search.
"""

from __future__ import annotations

import io
import json
import random
import zipfile
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from amr_bench import __version__
from amr_bench.cli import app
from amr_bench.codabench.bundle import BenchmarkSpec, BundleOptions, build_bundle, check_wheels, competition_yaml
from amr_bench.codabench.competition import check_competition
from amr_bench.codabench.worker import LEADERBOARD, find_submission, run
from amr_bench.errors import InputError, UsageError

DCASE_QUERIES = (
    Path(__file__).resolve().parents[2] / "amr_bench" / "data" / "ground_truth" / "dcase2026_evaluation_queries.jsonl"
)
runner = CliRunner()


def make_gt(path: Path, seed: int = 7) -> list[str]:
    """The 177 DCASE evaluation queries with made-up windows; returns every window bound as text."""
    rng = random.Random(seed)
    bounds, lines = [], []
    for line in DCASE_QUERIES.read_text().splitlines():
        r = json.loads(line)
        d = int(r["duration"])
        s = rng.randrange(0, max(1, d - 40)) + 0.137
        e = s + rng.randrange(3, 30) + 0.25
        r["relevant_windows"] = [[round(s, 3), round(e, 3)]]
        bounds += [repr(round(s, 3)), repr(round(e, 3))]
        lines.append(json.dumps(r))
    path.write_text("\n".join(lines) + "\n")
    return bounds


@pytest.fixture(scope="module")
def gt(tmp_path_factory):
    folder = tmp_path_factory.mktemp("gt")
    bounds = make_gt(folder / "gt.jsonl")
    return folder / "gt.jsonl", bounds


@pytest.fixture(scope="module")
def fake_wheels(tmp_path_factory):
    """A wheels folder that passes the bundle's checks (installing from it is the slow test's job)."""
    folder = tmp_path_factory.mktemp("wheels")
    with zipfile.ZipFile(folder / f"amr_bench-{__version__}-py3-none-any.whl", "w") as z:
        z.writestr("amr_bench/__init__.py", "")
    return folder


@pytest.fixture(scope="module")
def bundle(gt, fake_wheels, tmp_path_factory):
    """The bundle with the prior-only control's code path, its fit (20 s on castella/train) given:
    the slow test builds one with the real fit."""
    from amr_bench_baselines.zeroshot import prior

    fit = prior.PriorFit("best-windows", windows=[[0.0, 10.0], [10.0, 30.0], [30.0, 60.0]])
    out = tmp_path_factory.mktemp("bundle") / "bundle.zip"
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(prior, "example_fit", lambda: fit)
        written = build_bundle([BenchmarkSpec("dcase2026-eval", gt[0])], fake_wheels, out, BundleOptions(python="3.11"))
    return out, written


def _members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as z:
        return {n: z.read(n) for n in z.namelist()}


def _worker_dirs(tmp_path: Path, bundle_zip: Path) -> Path:
    files = _members(bundle_zip)
    for name, data in files.items():
        if name.startswith("reference_data_0/"):
            target = tmp_path / "input" / "ref" / name.split("/", 1)[1]
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
    (tmp_path / "input" / "res").mkdir(parents=True)
    return tmp_path


def _kit_submission(bundle_zip: Path, which: str) -> bytes:
    inner = _members(bundle_zip)[f"starting_kit_0/{which}"]
    with zipfile.ZipFile(io.BytesIO(inner)) as z:
        return z.read("submission.jsonl")


# ---- the yaml against the v2 unpacker ------------------------------------------------------


def test_bundle_yaml_has_what_the_v2_unpacker_requires(bundle):
    files = _members(bundle[0])
    doc = yaml.safe_load(files["competition.yaml"])
    exists = lambda n: n in files or (n.endswith("/") and any(f.startswith(n) for f in files))
    assert check_competition(doc, exists, files.__getitem__) == []
    assert doc["version"] == 2 and doc["enable_detailed_results"] is True
    assert [t["reference_data"] for t in doc["tasks"]] == ["reference_data_0"]
    assert [p["tasks"] for p in doc["phases"]] == [[0]]
    assert doc["phases"][0]["end"] is None  # one benchmark: open for ever
    columns = doc["leaderboards"][0]["columns"]
    assert [c["key"] for c in columns] == [c.key for c in LEADERBOARD]
    assert (
        columns[0]["title"] == "R1@0.7"
        and columns[0]["sorting"] == "desc"
        and doc["leaderboards"][0]["primary_index"] == 0
    )
    assert doc["docker_image"] == "python:3.11-slim"
    meta = yaml.safe_load(files["scoring_program/metadata.yaml"])
    assert meta["command"] == "python3 /app/program/score.py /app/input /app/output"
    assert {"pages/overview.md", "pages/evaluation.md", "pages/data.md", "pages/terms.md", "logo.png"} <= set(files)
    assert files["logo.png"].startswith(b"\x89PNG\r\n\x1a\n")


@pytest.mark.parametrize(
    "mutate, expected",
    [
        (lambda d: d.pop("terms"), "terms"),
        (lambda d: d.pop("leaderboards"), "leaderboards"),
        (lambda d: d.update(version=1), "version"),
        (lambda d: d["tasks"][0].pop("scoring_program"), "scoring_program"),
        (lambda d: d["phases"][0].update(tasks=[5]), "not a task index"),
        (lambda d: d["pages"].append({"title": "x", "file": "pages/missing.md"}), "missing.md"),
        (lambda d: d.update(image="nope.png"), "image"),
        (lambda d: d["leaderboards"][0]["columns"][1].update(key="r1_at_0_7"), "unique"),
    ],
)
def test_the_check_finds_what_the_unpacker_refuses(bundle, mutate, expected):
    files = _members(bundle[0])
    doc = yaml.safe_load(files["competition.yaml"])
    mutate(doc)
    exists = lambda n: n in files or (n.endswith("/") and any(f.startswith(n) for f in files))
    problems = check_competition(doc, exists, files.__getitem__)
    assert any(expected in p for p in problems), problems


def test_several_benchmarks_get_one_task_and_phase_each_in_sequence(gt):
    import datetime as dt

    specs = [BenchmarkSpec("a", gt[0]), BenchmarkSpec("b", gt[0])]
    doc = competition_yaml(specs, BundleOptions(start=dt.date(2027, 1, 1), days_per_phase=30))
    assert [t["index"] for t in doc["tasks"]] == [0, 1] and [p["tasks"] for p in doc["phases"]] == [[0], [1]]
    assert doc["phases"][0]["end"] == "2027-01-31" and doc["phases"][1]["start"] == "2027-02-01"
    assert doc["phases"][1]["end"] is None
    # overlapping phases are what Codabench refuses
    doc["phases"][1]["start"] = "2027-01-15"
    problems = check_competition(doc, lambda n: True, lambda n: b"x")
    assert any("must start after" in p for p in problems)


# ---- the ground truth stays hidden ----------------------------------------------------------


def _visible_texts(files: dict[str, bytes]) -> dict[str, str]:
    """Everything a participant can download: pages, logo, yaml, starting kit (inner zips opened)."""
    out = {}
    for name, data in files.items():
        if name.startswith(("reference_data_", "scoring_program/")):
            continue  # hidden (the programs are not made available either: make_programs_available false)
        if name.endswith(".zip"):
            with zipfile.ZipFile(io.BytesIO(data)) as z:
                for inner in z.namelist():
                    out[f"{name}!{inner}"] = z.read(inner).decode("utf-8", "replace")
        else:
            out[name] = data.decode("utf-8", "replace")
    return out


def test_ground_truth_never_in_what_participants_download(bundle, gt):
    files = _members(bundle[0])
    doc = yaml.safe_load(files["competition.yaml"])
    assert doc["make_programs_available"] is False and doc["make_input_data_available"] is False
    visible = _visible_texts(files)
    assert any(n.startswith("starting_kit_0/") for n in visible)
    leaks = [(n, b) for n, text in visible.items() for b in gt[1] if b in text]
    assert leaks == []
    assert '"relevant_windows"' not in "".join(visible.values())
    # the test can fail: the reference data does hold the windows
    assert all(b.encode() in files["reference_data_0/ground_truth.jsonl"] for b in gt[1][:10])


def test_pages_say_what_amr_bench_knows(bundle):
    files = _members(bundle[0])
    ev = files["pages/evaluation.md"].decode()
    scores = bundle[1].examples["dcase2026-eval"]
    assert f"{scores['r1_at_0_7']:.2f}" in ev and "prior-only control" in ev
    assert "first one on ties" in ev and "stably sorted" in ev and "R1@0.5, then mAP" in ev
    assert "**Equal IoU.**" in ev and "later window first" in ev  # the equal-IoU tie rule, not only the ranking ties
    data = files["pages/data.md"].decode()
    assert "177 queries" in data and "dcase2026/eval" in data and "pred_relevant_windows" in data


# ---- the scoring program, in process ---------------------------------------------------------


def test_valid_example_scores_as_amr_bench_score(bundle, gt, tmp_path, capsys):
    root = _worker_dirs(tmp_path, bundle[0])
    example = _kit_submission(bundle[0], "example_submission.zip")
    (root / "input" / "res" / "submission.jsonl").write_bytes(example)
    (root / "input" / "res" / "metadata").write_text("exitCode: 0\n")  # written by Codabench: ignored
    assert run(root / "input", root / "output") == 0
    scores = json.loads((root / "output" / "scores.json").read_text())
    (tmp_path / "s.jsonl").write_bytes(example)
    cli = runner.invoke(app, ["score", str(tmp_path / "s.jsonl"), "--gt", str(gt[0]), "-o", "-"])
    brief = json.loads(cli.stdout)["brief"]
    assert scores["r1_at_0_7"] == brief["MR-full-R1@0.7"]
    assert scores["r1_at_0_5"] == brief["MR-full-R1@0.5"]
    assert scores["map"] == brief["MR-full-mAP"]
    assert scores["r1_at_0_7_ci_low"] <= scores["r1_at_0_7"] <= scores["r1_at_0_7_ci_high"]
    html = (root / "output" / "detailed_results.html").read_text()
    assert 'class="explorer"' in html and "Breakdowns" in html and "blind evaluation set" in html
    import re

    # no request out of the page: no source, no stylesheet or import, no link but to its own anchors
    assert re.findall(r"\ssrc=|url\(|@import|<link", html) == []
    assert {h[0] for h in re.findall(r'href="([^"]*)"', html)} <= {"#"}
    assert [b for b in gt[1] if b in html] == []
    log = capsys.readouterr()
    assert [b for b in gt[1] if b in log.out + log.err] == []


def test_broken_example_fails_with_the_validate_messages(bundle, gt, tmp_path, capsys):
    root = _worker_dirs(tmp_path, bundle[0])
    broken = _kit_submission(bundle[0], "broken_submission.zip")
    (root / "input" / "res" / "submission.jsonl").write_bytes(broken)
    assert run(root / "input", root / "output") == 1
    assert not (root / "output" / "scores.json").exists()
    log = capsys.readouterr().err
    here = tmp_path / "v"
    here.mkdir()
    (here / "submission.jsonl").write_bytes(broken)
    import os

    cwd = os.getcwd()
    os.chdir(here)
    try:
        cli = runner.invoke(app, ["validate", "submission.jsonl", "--gt", str(gt[0])])
    finally:
        os.chdir(cwd)
    expected = [
        line for line in cli.stderr.splitlines() if line.startswith("submission.jsonl:") and ": error: " in line
    ]
    assert len(expected) >= 3
    for line in expected:
        assert line in log
    assert [b for b in gt[1] if b in log] == []


def _refusal(res: Path, scratch: Path) -> str:
    with pytest.raises(InputError) as info:
        find_submission(res, scratch)
    return "\n".join(str(p) for p in info.value.problems)


def test_submission_finding(tmp_path):
    res = tmp_path / "res"
    res.mkdir()
    assert "expected one .jsonl file (or one DCASE package) in the submission zip, found nothing" in _refusal(
        res, tmp_path
    )
    (res / "a.jsonl").write_text("{}\n")
    (res / "metadata").write_text("exitCode: 0\n")  # the worker's own file
    assert find_submission(res, tmp_path).display == "a.jsonl"
    (res / "sub").mkdir()
    (res / "sub" / "b.jsonl").write_text("{}\n")
    assert "found a.jsonl, sub/b.jsonl" in _refusal(res, tmp_path)
    (res / "sub" / "b.jsonl").unlink()
    (res / "link.txt").symlink_to("/etc/passwd")
    assert "link.txt: error: a symbolic link; submit regular files only" in _refusal(res, tmp_path)


def test_hostile_package_inside_the_zip_is_refused(bundle, tmp_path, capsys):
    """A DCASE package zip with a member that climbs out of its folder: intake refuses it, nothing written."""
    root = _worker_dirs(tmp_path, bundle[0])
    with zipfile.ZipFile(root / "input" / "res" / "package.zip", "w") as z:
        z.writestr("../../evil.output.jsonl", "{}\n")
        z.writestr("task6/Doe_UNI_task6_1/Doe_UNI_task6_1.meta.yaml", "x: 1\n")
    assert run(root / "input", root / "output") == 1
    assert "package.zip" in capsys.readouterr().err
    assert not (root / "output" / "scores.json").exists() and not (tmp_path.parent / "evil.output.jsonl").exists()


def test_huge_line_is_refused_without_reading_it_all(bundle, tmp_path, capsys):
    from amr_bench.jsonl import MAX_LINE_BYTES

    root = _worker_dirs(tmp_path, bundle[0])
    (root / "input" / "res" / "big.jsonl").write_bytes(b'{"qid": "' + b"x" * (MAX_LINE_BYTES + 10) + b'"}\n')
    assert run(root / "input", root / "output") == 1
    err = capsys.readouterr().err
    assert "big.jsonl" in err and "Traceback" not in err


# ---- the wheels and the command line --------------------------------------------------------


def test_wheels_must_hold_this_amr_bench_and_fit_the_image(tmp_path, fake_wheels):
    with pytest.raises(UsageError, match="no such folder"):
        check_wheels(tmp_path / "none", "3.12")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(UsageError, match=f"amr_bench-{__version__}"):
        check_wheels(empty, "3.12")
    (empty / f"amr_bench-{__version__}-py3-none-any.whl").write_bytes(b"")
    (empty / "numpy-2.0.0-cp312-cp312-manylinux_2_17_x86_64.whl").write_bytes(b"")
    assert len(check_wheels(empty, "3.12")) == 2
    with pytest.raises(UsageError, match=r"built for cp312, the image runs Python 3\.11"):
        check_wheels(empty, "3.11")
    (empty / "numpy-2.0.0-cp312-cp312-win_amd64.whl").write_bytes(b"")
    with pytest.raises(UsageError, match="win_amd64"):
        check_wheels(empty, "3.12")


def test_cli_writes_the_bundle(gt, fake_wheels, bundle, tmp_path):
    out = tmp_path / "b.zip"
    example = tmp_path / "mine.jsonl"
    example.write_bytes(_kit_submission(bundle[0], "example_submission.zip"))
    result = runner.invoke(
        app,
        [
            "codabench",
            "bundle",
            "--gt",
            f"dcase2026-eval={gt[0]}",
            "--wheels",
            str(fake_wheels),
            "--python",
            "3.11",
            "--out",
            str(out),
            "--start",
            "2027-03-01",
            "--example",
            f"dcase2026-eval={example}",
            "--baseline",
            f"dcase2026-eval={example}",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "Codabench bundle written" in result.stdout
    files = _members(out)
    doc = yaml.safe_load(files["competition.yaml"])
    assert doc["phases"][0]["start"] == "2027-03-01"
    evaluation = files["pages/evaluation.md"].decode()
    assert "example (mine.jsonl)" in evaluation
    rows = [line for line in evaluation.splitlines() if line.startswith("| dcase2026-eval |")]
    assert len(rows) == 2 and "baseline mine.jsonl" in rows[1] and rows[0].split("|")[3:] == rows[1].split("|")[3:]


def test_cli_refuses_an_invalid_baseline_run_at_its_lines(gt, fake_wheels, bundle, tmp_path):
    broken = tmp_path / "base.jsonl"
    broken.write_bytes(_kit_submission(bundle[0], "broken_submission.zip"))
    args = ["codabench", "bundle", "--gt", f"b={gt[0]}", "--wheels", str(fake_wheels), "--python", "3.11"]
    example = tmp_path / "example.jsonl"
    example.write_bytes(_kit_submission(bundle[0], "example_submission.zip"))
    args += ["--example", f"b={example}", "--out", str(tmp_path / "b.zip")]
    result = runner.invoke(app, [*args, "--baseline", f"b={broken}"])
    assert result.exit_code == 1 and "base.jsonl:1: error: pred_relevant_windows[0]: start 30 > end 20" in result.output
    assert not (tmp_path / "b.zip").exists()


@pytest.mark.parametrize(
    "args, message",
    [
        (["--gt", "gt.jsonl"], "expected NAME=PATH"),
        (["--gt", "a=GT", "--gt", "a=GT"], "given twice"),
        (["--gt", "a=GT", "--example", "b=GT"], "no such benchmark"),
        (["--gt", "a=GT", "--baseline", "b=GT"], "no such benchmark"),
        (["--gt", "a=GT", "--python", "3"], "MAJOR.MINOR"),
        (["--gt", "a=GT", "--start", "tomorrow"], "YYYY-MM-DD"),
        (["--gt", "a=BLIND"], "blind query list"),
        (["--gt", "a=GT", "--gt", "b=missing.jsonl"], "missing.jsonl"),
    ],
)
def test_cli_errors(gt, fake_wheels, tmp_path, args, message):
    args = [a.replace("GT", str(gt[0])).replace("BLIND", str(DCASE_QUERIES)) for a in args]
    result = runner.invoke(
        app,
        [
            "codabench",
            "bundle",
            "--wheels",
            str(fake_wheels),
            "--python",
            "3.11",
            "--out",
            str(tmp_path / "b.zip"),
            *args,
        ],
    )
    assert result.exit_code in (1, 2), result.output
    assert message in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "b.zip").exists()


def test_an_empty_wheels_folder_is_refused_with_the_commands_that_fill_it(gt, tmp_path):
    """The hint reaches the terminal escaped: it must read as written, without a literal \\x0a."""
    (tmp_path / "wheels").mkdir()
    args = [
        "--gt",
        f"a={gt[0]}",
        "--wheels",
        str(tmp_path / "wheels"),
        "--python",
        "3.11",
        "--out",
        str(tmp_path / "b.zip"),
    ]
    result = runner.invoke(app, ["codabench", "bundle", *args])
    assert result.exit_code == 2, result.output
    assert "`pip wheel --no-deps -w wheels .`" in result.output and "--python-version 3.11" in result.output
    assert "\\x0a" not in result.output and "Traceback" not in result.output
    assert not (tmp_path / "b.zip").exists()


# ---- the scoring program as a worker runs it: fresh image, bundled wheels, no network --------


def core_requirements() -> list[str]:
    """amr-bench's own dependencies (no extras), as its metadata declares them."""
    from importlib.metadata import requires

    return [r for r in requires("amr-bench") or [] if "extra ==" not in r]


@pytest.fixture(scope="module")
def real_wheels(tmp_path_factory):
    """amr-bench's wheel (built from this checkout) and its dependencies for this Python."""
    import os
    import subprocess
    import sys

    folder = tmp_path_factory.mktemp("real-wheels")
    root = Path(__file__).resolve().parents[2]
    steps = [
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(folder), str(root)],
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--quiet",
            "-d",
            str(folder),
            "--only-binary=:all:",
            *core_requirements(),
        ],
    ]
    for cmd in steps:
        done = subprocess.run(cmd, capture_output=True, text=True)
        if done.returncode != 0:
            if os.environ.get("CI"):
                pytest.fail(f"could not gather the wheels: {done.stderr[-2000:]}")
            pytest.skip(f"no package index to gather the wheels from: {done.stderr[-300:]}")
    return folder


@pytest.mark.slow
def test_emulated_worker_scores_fails_and_refuses(gt, real_wheels, tmp_path):
    import sys

    from tests.helpers.codabench_worker import fresh_image, run_scoring, submit, unpack_task

    python = f"{sys.version_info.major}.{sys.version_info.minor}"
    bundle_zip = tmp_path / "bundle.zip"
    build_bundle([BenchmarkSpec("dcase2026-eval", gt[0])], real_wheels, bundle_zip, BundleOptions(python=python))
    # the starting kit's example is the prior-only control, as `amr-bench baseline prior --fit castella/train` writes it
    from amr_bench.groundtruth import load_ground_truth
    from amr_bench_baselines.zeroshot.prior import example_fit, prior_records

    example = [json.loads(line) for line in _kit_submission(bundle_zip, "example_submission.zip").splitlines()]
    assert example == json.loads(json.dumps(prior_records(example_fit(), load_ground_truth(gt[0]), 10)))
    assert (
        "prior-only control (10 fixed windows fitted on castella/train)"
        in _members(bundle_zip)["pages/evaluation.md"].decode()
    )
    image = fresh_image(tmp_path / "image")
    root = tmp_path / "app"
    unpack_task(bundle_zip, root)
    kit = _members(bundle_zip)

    # the starting kit's valid submission: the numbers of `amr-bench score`
    (tmp_path / "example.zip").write_bytes(kit["starting_kit_0/example_submission.zip"])
    submit(root, tmp_path / "example.zip")
    ok = run_scoring(root, image)
    assert ok.returncode == 0, ok.log
    scores = json.loads((ok.output / "scores.json").read_text())
    (tmp_path / "s.jsonl").write_bytes(_kit_submission(bundle_zip, "example_submission.zip"))
    brief = json.loads(runner.invoke(app, ["score", str(tmp_path / "s.jsonl"), "--gt", str(gt[0]), "-o", "-"]).stdout)[
        "brief"
    ]
    assert (scores["r1_at_0_7"], scores["r1_at_0_5"], scores["map"]) == (
        brief["MR-full-R1@0.7"],
        brief["MR-full-R1@0.5"],
        brief["MR-full-mAP"],
    )
    assert set(scores) == {c.key for c in LEADERBOARD}
    html = (ok.output / "detailed_results.html").read_text()
    assert 'class="explorer"' in html and [b for b in gt[1] if b in html + ok.log] == []

    # the broken one: the FILE:LINE messages of `amr-bench validate`, no scores
    (tmp_path / "broken.zip").write_bytes(kit["starting_kit_0/broken_submission.zip"])
    submit(root, tmp_path / "broken.zip")
    bad = run_scoring(root, image)
    assert bad.returncode == 1 and not (bad.output / "scores.json").exists()
    assert bad.log.count("submission.jsonl:") >= 3 and "Traceback" not in bad.log
    assert [b for b in gt[1] if b in bad.log] == []

    # the DCASE package zip itself, one system (the worker moves its task6/ folder up): the same scores
    (tmp_path / "package.zip").write_bytes(
        _zip_bytes(_package(_kit_submission(bundle_zip, "example_submission.zip"), 1))
    )
    submit(root, tmp_path / "package.zip")
    assert not (root / "input" / "res" / "task6").exists()
    package = run_scoring(root, image)
    assert package.returncode == 0, package.log
    assert json.loads((package.output / "scores.json").read_text()) == scores

    # hostile: names that climb out of the folder, a symbolic link's name, a line of 17 MiB
    hostile = tmp_path / "hostile.zip"
    with zipfile.ZipFile(hostile, "w") as z:
        z.writestr("../../../escaped.jsonl", "{}\n")
        z.writestr("/abs.jsonl", "{}\n")
        z.writestr("big.jsonl", b'{"qid": "' + b"x" * (17 << 20) + b'"}\n')
    submit(root, hostile)
    refused = run_scoring(root, image)
    assert refused.returncode == 1 and not (refused.output / "scores.json").exists()
    assert "Traceback" not in refused.log and "expected one .jsonl" in refused.log
    assert not any(p.name == "escaped.jsonl" for p in tmp_path.rglob("*") if "res" not in p.parts)
    big = tmp_path / "big.zip"
    with zipfile.ZipFile(big, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("big.jsonl", b'{"qid": "' + b"x" * (17 << 20) + b'"}\n')
    submit(root, big)
    refused = run_scoring(root, image)
    assert refused.returncode == 1 and "big.jsonl" in refused.log and "Traceback" not in refused.log


@pytest.mark.slow
@pytest.mark.browser
def test_detailed_results_in_a_browser(bundle, tmp_path, capsys):
    """The page Codabench shows works alone: explorer rows drawn, the breakdown there, nothing fetched."""
    import os

    from tests.leaderboard.test_browser import Browser, _chromium, _in_ci

    binary = _chromium()
    if binary is None:
        if _in_ci():
            pytest.fail("chromium is missing (apt-get install chromium)")
        pytest.skip("chromium is not installed")
    root = _worker_dirs(tmp_path, bundle[0])
    (root / "input" / "res" / "submission.jsonl").write_bytes(_kit_submission(bundle[0], "example_submission.zip"))
    assert run(root / "input", root / "output") == 0
    page = root / "output" / "detailed_results.html"
    (tmp_path / "profile").mkdir()
    browser = Browser(binary, tmp_path / "profile")
    try:
        browser.call("Network.enable")
        browser.open(page.as_uri())
        assert browser.js("document.querySelectorAll('div.explorer tbody tr').length") == 50
        assert browser.js("document.querySelectorAll('div.explorer svg').length") == 50
        urls = browser.js("performance.getEntriesByType('resource').map(function (e) { return e.name; })")
        assert urls == []
        shot = os.environ.get("AMR_BENCH_CODABENCH_SCREENSHOT")
        if shot:
            browser.screenshot(Path(shot))
    finally:
        browser.close()


def _package(output: bytes, systems: int) -> dict[str, bytes]:
    from tests.leaderboard.test_intake import META, PDF, TEAM

    files = {f"task6/{TEAM}_task6.technical_report.pdf": PDF}
    for n in range(1, systems + 1):
        label = f"{TEAM}_task6_{n}"
        files[f"task6/{label}/{label}.output.jsonl"] = output
        files[f"task6/{label}/{label}.meta.yaml"] = META.format(label=label, n=n, params=1000).encode()
    return files


@pytest.mark.parametrize("nested", [False, True], ids=["package-as-submission", "package-zip-in-submission"])
def test_a_dcase_package_with_one_system_scores_like_its_output(bundle, tmp_path, capsys, nested):
    example = _kit_submission(bundle[0], "example_submission.zip")
    root = _worker_dirs(tmp_path, bundle[0])
    res = root / "input" / "res"
    if nested:
        (res / "Doe_UNI_task6.zip").write_bytes(_zip_bytes(_package(example, 1)))
    else:  # the package zip itself was submitted: Codabench unpacked it into res
        for name, data in _package(example, 1).items():
            (res / name).parent.mkdir(parents=True, exist_ok=True)
            (res / name).write_bytes(data)
    assert run(root / "input", root / "output") == 0, capsys.readouterr().err
    from_package = json.loads((root / "output" / "scores.json").read_text())
    plain = _worker_dirs(tmp_path / "plain", bundle[0])
    (plain / "input" / "res" / "run.jsonl").write_bytes(example)
    assert run(plain / "input", plain / "output") == 0
    assert from_package == json.loads((plain / "output" / "scores.json").read_text())


def test_a_package_with_two_systems_is_refused(bundle, tmp_path, capsys):
    root = _worker_dirs(tmp_path, bundle[0])
    example = _kit_submission(bundle[0], "example_submission.zip")
    (root / "input" / "res" / "pkg.zip").write_bytes(_zip_bytes(_package(example, 2)))
    assert run(root / "input", root / "output") == 1
    assert "holds 2 systems (Doe_UNI_task6_1, Doe_UNI_task6_2); submit one" in capsys.readouterr().err


def _zip_bytes(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, data in files.items():
            z.writestr(name, data)
    return buf.getvalue()


def test_without_the_baselines_an_example_must_be_given(gt, fake_wheels, tmp_path, monkeypatch):
    import importlib.metadata

    monkeypatch.setattr(importlib.metadata, "entry_points", lambda **kw: [])
    with pytest.raises(UsageError, match="give --example dcase2026-eval=FILE"):
        build_bundle([BenchmarkSpec("dcase2026-eval", gt[0])], fake_wheels, tmp_path / "b.zip")
    assert not (tmp_path / "b.zip").exists()
