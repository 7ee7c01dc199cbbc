"""Shared test set-up: no network for model hubs, hypothesis profiles.

Hypothesis profiles (``HYPOTHESIS_PROFILE``): ``ci`` (the default) is derandomised, so every run
of the suite sees the same examples; ``nightly`` draws new examples each run, ten times as many
where a test does not fix its own count, and is meant for a scheduled job that hunts for new
failures (``HYPOTHESIS_PROFILE=nightly bash scripts/test.sh``).

Markers (declared in ``pyproject.toml``): ``slow`` tests are left out of ``scripts/test.sh --quick``;
``gpu`` tests are skipped with the reason where torch sees no CUDA device.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile("ci", deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True)
settings.register_profile("nightly", settings.get_profile("ci"), derandomize=False, max_examples=1000)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked ``gpu`` are skipped, with the reason, where torch sees no CUDA device."""
    gpu_tests = [item for item in items if item.get_closest_marker("gpu")]
    if not gpu_tests:
        return
    reason = _no_cuda_reason()
    if reason:
        for item in gpu_tests:
            item.add_marker(pytest.mark.skip(reason=reason))


def _no_cuda_reason() -> str | None:
    try:
        import torch
    except ImportError:
        return "needs CUDA: torch is not installed"
    if not torch.cuda.is_available():
        return f"needs CUDA: torch {torch.__version__} sees no CUDA device"
    return None


@pytest.fixture(scope="session")
def built_wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project's wheel, built once per session (``pip wheel --no-deps``) for the packaging tests."""
    out = tmp_path_factory.mktemp("wheel")
    root = Path(__file__).resolve().parents[1]
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(out), str(root)],
        capture_output=True,
        text=True,
    )
    assert build.returncode == 0, build.stderr[-2000:]
    return next(out.glob("amr_bench-*.whl"))


@pytest.fixture(scope="session")
def dev_full(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A device that refuses writes, for "never replace a special file" tests.

    As root (CI), a private character device with /dev/full's numbers is made in a temporary
    folder, so a regression that renames a file over its target replaces that node, never the
    machine's /dev/full. Without root, mknod is not allowed; the real /dev/full is used (and a
    non-root process cannot replace it).
    """
    import os
    import stat

    if hasattr(os, "geteuid") and os.geteuid() == 0:
        node = tmp_path_factory.mktemp("devices") / "full"
        os.mknod(node, 0o666 | stat.S_IFCHR, os.makedev(1, 7))
        return node
    return Path("/dev/full")
