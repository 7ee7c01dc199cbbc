"""``benchmarks/gpu_check.sh``: a clean exit without CUDA; the whole check where CUDA exists."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "gpu_check.sh"


def run_script(env: dict[str, str], *args: str, timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(SCRIPT), *args],
        env={**os.environ, "PYTHON": sys.executable, **env},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_without_a_gpu_it_says_so_and_exits_cleanly(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    done = run_script({"CUDA_VISIBLE_DEVICES": ""}, str(tmp_path / "work"), timeout=120)
    assert done.returncode == 0, done.stderr
    assert "no CUDA GPU" in done.stdout and "nothing checked" in done.stdout
    assert not (tmp_path / "work").exists()  # nothing was started


def test_the_script_is_valid_bash() -> None:
    assert subprocess.run(["bash", "-n", str(SCRIPT)], capture_output=True).returncode == 0


@pytest.mark.gpu
def test_gpu_check_passes_on_a_cuda_machine(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("needs CUDA")
    done = run_script({}, str(tmp_path / "work"), timeout=8 * 60)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "all checks passed" in done.stdout
