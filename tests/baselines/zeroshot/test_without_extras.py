"""What runs with parts of the stack missing, in fresh interpreters where imports are blocked.

JointProj and clap-cosine need only the projection heads: they run with msclap and transformers
unimportable. Without torch, the baseline commands name the extra to install (no traceback), and
the prior-only control still runs.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers.zeroshot_data import make_dataset

ROOT = Path(__file__).resolve().parents[3]
RUNNER = """
import importlib.abc, json, sys
BLOCKED = set(sys.argv[1].split(","))
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"No module named {name!r} (blocked by the test)", name=name)
        return None
sys.meta_path.insert(0, Block())
sys.argv = ["amr-bench", *sys.argv[2:]]
from amr_bench.cli import main
try:
    main()
    code = 0
except SystemExit as exc:
    code = exc.code or 0
loaded = sorted({m.split(".")[0] for m in sys.modules} & {"msclap", "transformers", "torch"})
print("LOADED " + json.dumps(loaded))
sys.exit(code)
"""


def _run(blocked: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "baselines")]), "HF_HUB_OFFLINE": "1"}
    return subprocess.run(
        [sys.executable, "-c", RUNNER, blocked, *args], capture_output=True, text=True, env=env, timeout=300
    )


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("torch")
    return make_dataset(tmp_path_factory.mktemp("noextras") / "data", n_rec=2)


def test_jointproj_and_clap_cosine_run_without_msclap(tiny: Path, tmp_path: Path) -> None:
    for baseline in ("jointproj", "clap-cosine"):
        out = tmp_path / f"{baseline}.jsonl"
        r = _run("msclap,transformers", "baseline", baseline, "--data", str(tiny), "--out", str(out))
        assert r.returncode == 0, r.stdout + r.stderr
        assert 'LOADED ["torch"]' in r.stdout  # neither msclap nor transformers was imported
        assert len(out.read_text().splitlines()) == 4


def test_baseline_commands_without_torch_name_the_extra(tiny: Path, tmp_path: Path) -> None:
    for args in (
        ["baseline", "jointproj", "--data", str(tiny)],
        ["baseline", "clap-cosine", "--data", str(tiny)],
        ["baseline", "sliding-clap", "--data", str(tiny), "--threshold", "0.5"],
        ["baseline", "tune", "sliding-clap", "--data", str(tiny)],
        ["features", "extract", str(tmp_path), "--queries", str(tiny / "test.jsonl")],
    ):
        out = ["--out", str(tmp_path / "o.jsonl")] if args[0] == "baseline" and args[1] != "tune" else []
        if args[0] == "features":
            out = ["--out", str(tmp_path / "feats")]
        r = _run("torch", *args, *out)
        assert r.returncode == 2, r.stdout + r.stderr
        assert "needs the baselines extra: pip install 'amr-bench[baselines]'" in r.stderr + r.stdout
        assert "Traceback" not in r.stderr + r.stdout


def test_the_prior_runs_without_torch(tiny: Path, tmp_path: Path) -> None:
    out = tmp_path / "prior.jsonl"
    gt = str(tiny / "test.jsonl")
    r = _run("torch", "baseline", "prior", "--fit", str(tiny / "val.jsonl"), "--gt", gt, "--out", str(out))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "LOADED []" in r.stdout
    test_qids = [json.loads(line)["qid"] for line in (tiny / "test.jsonl").read_text().splitlines()]
    assert [json.loads(line)["qid"] for line in out.read_text().splitlines()] == test_qids


DEMO_RUNS = """
import importlib.abc, json, sys
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] == "torch":
            raise ModuleNotFoundError(f"No module named {name!r} (blocked by the test)", name=name)
        return None
sys.meta_path.insert(0, Block())
from amr_bench_baselines.zeroshot.demo_systems import PRIOR_PLAN, demo_runs
runs = demo_runs(sys.argv[1])
print(json.dumps(sorted({r["system"] for r in runs})), len(runs) == len(PRIOR_PLAN))
"""


def test_the_demo_keeps_the_prior_on_a_core_install(tmp_path: Path) -> None:
    """Without torch the zero-shot runs cannot run; the prior (numpy only) must still reach the demo."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "baselines")])}
    r = subprocess.run(
        [sys.executable, "-c", DEMO_RUNS, str(tmp_path)], capture_output=True, text=True, env=env, timeout=300
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ['["prior', "(best", "fixed", 'windows)"]', "True"]
