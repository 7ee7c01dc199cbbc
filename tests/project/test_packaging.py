"""Packaging promises: no torch on import or scoring, pinned bundled data, schemas that load."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from amr_bench.datasets.registry import sha256_file, splits
from amr_bench.schemas import schema_dir, validator

EXPECTED_SPLITS = {
    "castella/train",
    "castella/val",
    "castella/test",
    "clotho-moment/val",
    "clotho-moment/test",
    "unav100-subset/test",
    "tut2017/test",
    "dcase2026/eval",
}


def test_every_bundled_split_is_addressable_and_pinned():
    entries = {e.name: e for e in splits()}
    assert set(entries) >= EXPECTED_SPLITS
    for name in EXPECTED_SPLITS:
        e = entries[name]
        assert e.path.is_file(), name
        assert sha256_file(e.path) == e.sha256, f"{name}: bundled file changed; update the pin"


def test_notice_names_the_sources_of_the_bundled_data():
    from pathlib import Path

    notice = (Path(__file__).resolve().parents[2] / "NOTICE").read_text()
    for needle in ("lighthouse", "Apache-2.0", "CASTELLA", "Clotho-Moment", "UnAV-100", "TUT", "DCASE 2026"):
        assert needle in notice


@pytest.mark.parametrize("name", ["submission_line", "ground_truth_line", "result"])
def test_schemas_are_valid_2020_12(name):
    v = validator(name)
    assert v.schema["$schema"].endswith("2020-12/schema")
    assert (schema_dir() / f"{name}.schema.json").is_file()


def test_importing_and_scoring_never_import_torch(tmp_path):
    from importlib import resources

    preds = resources.files("amr_bench") / "data" / "reference_runs" / "qddetr_castella_val_preds.jsonl"
    code = (
        "import sys, amr_bench\n"
        "from amr_bench.cli import app\n"
        "from typer.testing import CliRunner\n"
        f"r = CliRunner().invoke(app, ['score', {str(preds)!r}, '--gt', 'castella/val', '-q'])\n"
        "assert r.exit_code == 0, r.output\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'msclap', 'transformers')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout.strip().replace("'", '"')) == []


def test_console_script_runs_as_a_module():
    out = subprocess.run([sys.executable, "-m", "amr_bench", "--help"], capture_output=True, text=True)
    assert out.returncode == 0 and "score" in out.stdout


@pytest.mark.slow  # builds a wheel
def test_the_wheel_ships_schemas_data_and_templates_and_scores_from_them(built_wheel, tmp_path):
    import zipfile

    wheel = built_wheel
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    names = {p.relative_to(site).as_posix() for p in site.rglob("*") if p.is_file()}
    for needed in (
        "amr_bench/_schemas/submission_line.schema.json",
        "amr_bench/_schemas/result.schema.json",
        "amr_bench/data/ground_truth/castella_val_release.jsonl",
        "amr_bench/datasets/registry.json",
        "amr_bench/data/reference_runs/qddetr_castella_val_preds.jsonl",
    ):
        assert needed in names
    assert any(n.endswith("licenses/NOTICE") for n in names)
    code = (
        "import amr_bench, amr_bench.schemas as s\n"
        f"assert str(s.schema_dir()).startswith({str(site)!r}), s.schema_dir()\n"
        "from importlib import resources\n"
        "p = resources.files('amr_bench') / 'data' / 'reference_runs' / 'qddetr_castella_val_preds.jsonl'\n"
        "print(amr_bench.score(str(p), 'castella/val').brief['MR-full-R1@0.7'])\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin"},
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "16.19"


@pytest.mark.slow  # builds a wheel
def test_the_wheel_installs_no_top_level_baselines_package(built_wheel):
    import zipfile

    wheel = built_wheel
    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split("/")[0] for n in names if not n.split("/")[0].endswith((".dist-info", ".data"))}
    assert tops == {"amr_bench", "amr_bench_baselines"}, tops
    assert "amr_bench_baselines/commands/train.py" in names
    entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
    text = zipfile.ZipFile(wheel).read(entry_points).decode()
    assert "[amr_bench.commands]" in text and "amr_bench_baselines.commands.train" in text


def test_the_core_never_imports_the_baselines_package_by_name():
    from pathlib import Path

    core = Path(__file__).resolve().parents[2] / "amr_bench"
    offenders = [
        str(p.relative_to(core.parent))
        for p in core.rglob("*.py")
        if "amr_bench_baselines" in p.read_text(encoding="utf-8")
    ]
    assert offenders == [], offenders
