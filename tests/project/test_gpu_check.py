"""``benchmarks/gpu_check.sh``: it installs what it runs, a run that checked nothing fails (exit 2),
and the whole check passes where CUDA exists."""

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


def test_without_a_gpu_it_says_so_and_fails(tmp_path: Path) -> None:
    """ "Nothing checked" is not a pass: the status is 2, so no caller can take it for success."""
    pytest.importorskip("torch")
    done = run_script({"CUDA_VISIBLE_DEVICES": ""}, str(tmp_path / "work"), timeout=120)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "no CUDA GPU" in done.stdout and "nothing checked" in done.stdout
    assert "== 0. install" not in done.stdout  # this interpreter has everything: nothing installed
    assert not (tmp_path / "work").exists()  # nothing was started


def fake_python(tmp_path: Path, pip_status: int) -> tuple[Path, Path]:
    """An interpreter that imports nothing and logs every ``-m pip`` call (exit ``pip_status``)."""
    log = tmp_path / "pip.log"
    shim = tmp_path / "python"
    shim.write_text(
        "#!/usr/bin/env bash\n"
        'if [ "$1" = -m ] && [ "$2" = pip ]; then shift 2; echo "$*" >> "'
        + str(log)
        + '"; exit '
        + str(pip_status)
        + "\n"
        "fi\n"
        'echo "ModuleNotFoundError: No module named torch" >&2; exit 1\n'
    )
    shim.chmod(0o755)
    return shim, log


def test_it_installs_the_pinned_packages_when_they_are_missing(tmp_path: Path) -> None:
    shim, log = fake_python(tmp_path, pip_status=0)
    done = run_script({"PYTHON": str(shim)}, str(tmp_path / "work"), timeout=60)
    calls = log.read_text().splitlines()
    root = SCRIPT.parents[1]
    assert calls == [
        "install -q torch==2.13.0",
        f"install -q -e {root}[baselines] torch==2.13.0",
        "install -q --no-deps msclap==1.3.4",
    ]
    # the shim still imports nothing after the "install": a failure, never "nothing checked"
    assert done.returncode == 1 and "still cannot import" in done.stdout, done.stdout
    assert not (tmp_path / "work").exists()


def test_a_failed_install_fails_and_install_can_be_forbidden(tmp_path: Path) -> None:
    shim, log = fake_python(tmp_path, pip_status=1)
    done = run_script({"PYTHON": str(shim)}, timeout=60)
    assert done.returncode == 1 and "FAILED to install" in done.stdout, done.stdout
    assert log.read_text().splitlines() == ["install -q torch==2.13.0"]
    log.unlink()
    forbidden = run_script({"PYTHON": str(shim), "GPU_CHECK_INSTALL": "0"}, timeout=60)
    assert forbidden.returncode == 1 and "GPU_CHECK_INSTALL=0" in forbidden.stdout
    assert "No module named torch" in forbidden.stdout and not log.exists()


def test_the_script_is_valid_bash() -> None:
    assert subprocess.run(["bash", "-n", str(SCRIPT)], capture_output=True).returncode == 0


def test_every_name_the_scripts_python_imports_exists() -> None:
    """The embedded Python runs only on a GPU machine: a stale import (a function moved to another
    module) must fail here, not there."""
    import ast
    import importlib
    import re

    blocks = re.findall(r"<<'PYEOF'[^\n]*\n(.*?)\nPYEOF", SCRIPT.read_text(), flags=re.S)
    assert len(blocks) == 2
    checked = []
    for block in blocks:
        for node in ast.walk(ast.parse(block)):
            if isinstance(node, ast.ImportFrom) and node.module:
                module = importlib.import_module(node.module)
                for alias in node.names:
                    assert hasattr(module, alias.name), f"{node.module} has no {alias.name}"
                    checked.append(f"{node.module}.{alias.name}")
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    importlib.import_module(alias.name)
                    checked.append(alias.name)
    assert "tests.helpers.tiny_gpt2.write_tiny_gpt2" in checked
    assert "amr_bench_baselines.zeroshot.clap_model.random_clap" in checked


@pytest.mark.gpu
def test_gpu_check_passes_on_a_cuda_machine(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("needs CUDA")
    done = run_script({}, str(tmp_path / "work"), timeout=8 * 60)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "all checks passed" in done.stdout
