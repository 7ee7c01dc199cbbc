"""An unlucky operator: a full disk between two outputs, an output that is a symbolic link, SIGTERM
and Ctrl-C in the middle of a write, stderr closed."""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

from amr_bench import outputs
from amr_bench.cli import app
from tests.helpers.cli import GT_LINES, RUN_LINES, write_jsonl

ROOT = Path(__file__).resolve().parents[2]
# a submission with warnings (a window past the recording's end, an unknown key)
WARNED_RUN = [
    {"qid": 1, "pred_relevant_windows": [[1, 50, 0.9]]},
    {"qid": 2, "pred_relevant_windows": [[0, 10, 0.8]], "extra": 1},
    {"qid": "x3", "pred_relevant_windows": [[3, 9, 1.0]]},
]


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    return {
        "gt": write_jsonl(tmp_path / "gt.jsonl", GT_LINES),
        "run": write_jsonl(tmp_path / "run.jsonl", RUN_LINES),
        "warned": write_jsonl(tmp_path / "warned.jsonl", WARNED_RUN),
    }


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def test_metrics_and_per_query_csv_succeed_or_fail_together(
    files: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    metrics, per_query = tmp_path / "m.json", tmp_path / "pq.csv"
    metrics.write_text("old metrics")
    per_query.write_text("old per-query")
    real = outputs.write_csv_atomic

    def disk_fills(path, header, rows, float_format="%.10g", group=None):  # type: ignore[no-untyped-def]
        def failing():  # type: ignore[no-untyped-def]
            yield next(iter(rows))
            raise OSError(errno.ENOSPC, "No space left on device", str(path))

        return real(path, header, failing(), float_format, group=group)

    monkeypatch.setattr(outputs, "write_csv_atomic", disk_fills)
    res = CliRunner().invoke(
        app,
        ["score", str(files["run"]), "--gt", str(files["gt"]), "-q", "-o", str(metrics), "--per-query", str(per_query)],
    )
    assert res.exit_code == 1 and "No space left on device" in res.output
    assert metrics.read_text() == "old metrics" and per_query.read_text() == "old per-query"
    assert _leftovers(tmp_path) == []


@pytest.mark.parametrize("fast", [True, False], ids=["fast-path", "full-command"])
def test_an_output_that_is_a_symbolic_link_is_refused(
    files: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fast: bool
) -> None:
    target = tmp_path / "target.json"
    target.write_text("kept")
    link = tmp_path / "latest.json"
    link.symlink_to(target)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "AMR_BENCH_CACHE": "off"}
    if not fast:
        env["AMR_BENCH_NO_FAST_PATH"] = "1"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "amr_bench",
            "score",
            str(files["run"]),
            "--gt",
            str(files["gt"]),
            "-q",
            "-o",
            str(link),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert proc.returncode == 2 and "symbolic link" in proc.stderr and str(target) in proc.stderr
    assert link.is_symlink() and target.read_text() == "kept"


def _run_script(body: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    script = tmp_path / "interrupt.py"
    script.write_text(textwrap.dedent(body))
    env = {**os.environ, "PYTHONPATH": str(ROOT), "AMR_BENCH_CACHE": "off"}
    return subprocess.run([sys.executable, str(script)], capture_output=True, text=True, env=env, timeout=120)


INTERRUPTED_WRITE = """
import os, signal, sys
from amr_bench import outputs
from amr_bench.cli import main

def interrupted(path, text, group=None):
    with outputs.atomic_writer(path, group=group) as f:
        f.write(text[:10])
        f.flush()
        os.kill(os.getpid(), signal.{signal})
        f.write(text[10:])
    return path

outputs.write_text_atomic = interrupted
sys.argv = ["amr-bench", "score", {run!r}, "--gt", {gt!r}, "-q", "-o", {out!r}]
main()
"""


@pytest.mark.parametrize(("name", "code"), [("SIGTERM", 128 + signal.SIGTERM), ("SIGINT", 130)])
def test_a_signal_while_writing_removes_the_temporary_file_without_a_traceback(
    files: dict[str, Path], tmp_path: Path, name: str, code: int
) -> None:
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    out = out_dir / "m.json"
    out.write_text("old")
    proc = _run_script(
        INTERRUPTED_WRITE.format(signal=name, run=str(files["run"]), gt=str(files["gt"]), out=str(out)), tmp_path
    )
    assert proc.returncode == code, proc.stderr
    assert "Traceback" not in proc.stderr and ("terminated" in proc.stderr or "interrupted" in proc.stderr)
    assert out.read_text() == "old" and _leftovers(out_dir) == []


@pytest.mark.parametrize("fast", [True, False], ids=["fast-path", "full-command"])
def test_with_stderr_closed_stdout_holds_only_the_json(files: dict[str, Path], fast: bool) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "AMR_BENCH_CACHE": "off"}
    if not fast:
        env["AMR_BENCH_NO_FAST_PATH"] = "1"
    command = f'"{sys.executable}" -m amr_bench score "{files["warned"]}" --gt "{files["gt"]}" -q -o - 2>&-'
    proc = subprocess.run(["bash", "-c", command], capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0
    assert json.loads(proc.stdout)["brief"]  # the whole of stdout is the JSON document
