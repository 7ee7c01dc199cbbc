"""Every command and snippet the README shows runs as shown, offline, in a temporary folder.

The README's fenced ``bash`` blocks are run line by line, in order, in one temporary folder per
block (the bundled reference run copied to the relative path the README gives it), and its
``python`` blocks as scripts there. The lines that cannot run inside a test are listed in
:data:`NOT_RUN` verbatim, each with the reason; a line of the README that is neither run nor listed
fails :func:`test_every_readme_command_is_run_or_listed`.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
REFERENCE_RUN = "amr_bench/data/reference_runs/qddetr_castella_val_preds.jsonl"

NOT_RUN = {
    "python3 -m venv .venv && . .venv/bin/activate && pip install -e . && amr-bench demo": (
        "installs packages (the demo itself runs in the 'Organise a leaderboard' block)"
    ),
    "bash scripts/test.sh --quick": "runs this test suite",
    "bash scripts/test.sh": "runs this test suite",
    "bash scripts/test.sh --gates": "runs this test suite",
    "amr-bench datasets download castella --root data/castella": "downloads from Zenodo",
    "amr-bench datasets download clotho-moment --root data/clotho-moment": "downloads from Zenodo",
    "amr-bench reproduce am-detr --data data/castella --pretrain-data data/clotho-moment --seeds 0,1,2,3,4 "
    "--device cuda": "needs the downloaded features and a GPU",
    "amr-bench predict best_checkpoint.pth --data data/castella --split test --out test.jsonl": (
        "needs an official checkpoint and the downloaded features (tests/baselines/detr/"
        "test_official_checkpoint.py runs the same command on the oracle's data)"
    ),
}
#: Blocks that take minutes (the full demo, training): run by the full tier only.
SLOW_SECTIONS = {"Organise a leaderboard", "Reproduce a baseline"}


def readme_blocks() -> list[tuple[str, str, list[str]]]:
    """``(section, language, lines)`` of every fenced block, comments and blank lines dropped."""
    blocks = []
    section = ""
    text = README.read_text(encoding="utf-8")
    for match in re.finditer(r"^## ([^\n]+)$|^```(\w*)\n(.*?)^```", text, re.MULTILINE | re.DOTALL):
        if match.group(1):
            section = match.group(1).strip()
            continue
        language, body = match.group(2), match.group(3)
        if language == "bash":
            lines = [re.sub(r"\s+#.*$", "", line).strip() for line in body.splitlines()]
            blocks.append((section, language, [line for line in lines if line]))
        else:
            blocks.append((section, language, [body]))
    return blocks


def _run_blocks() -> list[tuple[str, str, list[str]]]:
    out = []
    for section, language, lines in readme_blocks():
        runnable = [line for line in lines if line not in NOT_RUN]
        if runnable and language in ("bash", "python"):
            out.append((section, language, runnable))
    return out


def _env(tmp: Path) -> dict[str, str]:
    return {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "XDG_CACHE_HOME": str(tmp / ".cache"),
        "XDG_CONFIG_HOME": str(tmp / ".config"),
        "AMR_BENCH_NO_DOWNLOAD": "1",
        "PYTHONPATH": os.pathsep.join(sys.path),
    }


def _params() -> list[object]:
    return [
        pytest.param(
            section, language, lines, id=f"{section}-{i}", marks=[pytest.mark.slow] if section in SLOW_SECTIONS else []
        )
        for i, (section, language, lines) in enumerate(_run_blocks())
    ]


@pytest.mark.parametrize(("section", "language", "lines"), _params())
def test_the_readme_block_runs(section: str, language: str, lines: list[str], tmp_path: Path) -> None:
    (tmp_path / Path(REFERENCE_RUN).parent).mkdir(parents=True)
    shutil.copy(ROOT / REFERENCE_RUN, tmp_path / REFERENCE_RUN)
    env = _env(tmp_path)
    for line in lines:
        if language == "python":
            argv = [sys.executable, "-c", line]
        else:
            words = shlex.split(line)
            assert words[0] == "amr-bench", f"a README command that is neither amr-bench nor listed: {line}"
            argv = [sys.executable, "-m", "amr_bench", *words[1:]]
        proc = subprocess.run(argv, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=1500)
        assert proc.returncode == 0, f"{line}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
        assert "Traceback" not in proc.stderr


def test_every_readme_command_is_run_or_listed() -> None:
    run = {line for _, _, lines in _run_blocks() for line in lines}
    shown = {line for _, language, lines in readme_blocks() if language == "bash" for line in lines}
    assert shown - run - set(NOT_RUN) == set()
    assert set(NOT_RUN) <= shown, "a listed line is no longer in the README: remove it from NOT_RUN"
    assert any(section == "From Python" and language == "python" for section, language, _ in _run_blocks())


def test_the_readme_names_the_files_a_newcomer_needs() -> None:
    text = README.read_text(encoding="utf-8")
    assert REFERENCE_RUN in text and (ROOT / REFERENCE_RUN).is_file()
    assert "--db my-demo/leaderboard.sqlite" in text
    for link in re.findall(r"\]\(([^)#]+)\)", text):
        assert (ROOT / link).exists(), f"README links a missing file: {link}"
    assert len(text.splitlines()) <= 170, "the README is the front door: the long form belongs in docs/"
