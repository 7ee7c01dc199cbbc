"""A name that matches a bundled split, a registered dataset and a local folder at once is never
resolved silently to one of them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from amr_bench.datasets.registry import find_split, resolve_ground_truth
from amr_bench.errors import UsageError
from tests.helpers.cli import GT_LINES, write_jsonl


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("AMR_BENCH_DATASETS", str(tmp_path / "registry.json"))
    return tmp_path


def test_a_local_folder_named_like_a_bundled_dataset_is_not_shadowed(workdir: Path) -> None:
    (workdir / "castella").mkdir()
    write_jsonl(workdir / "castella" / "val.jsonl", GT_LINES)
    with pytest.raises(UsageError, match="ambiguous") as info:
        resolve_ground_truth("castella/val")
    assert "castella/val.jsonl" in str(info.value) and "./castella/val" in str(info.value)
    path, split = resolve_ground_truth("./castella/val")
    assert split is None and path.resolve() == (workdir / "castella" / "val.jsonl").resolve()


def test_a_local_copy_with_the_same_bytes_is_the_bundled_split(workdir: Path) -> None:
    bundled = find_split("castella/val")
    assert bundled is not None
    (workdir / "castella").mkdir()
    (workdir / "castella" / "val.jsonl").write_bytes(bundled.path.read_bytes())
    path, split = resolve_ground_truth("castella/val")
    assert path == bundled.path and split is not None and split.name == "castella/val"


def test_a_registered_dataset_does_not_shadow_a_folder_of_the_same_name(workdir: Path) -> None:
    registered = workdir / "elsewhere"
    registered.mkdir()
    write_jsonl(registered / "test.jsonl", GT_LINES)
    (workdir / "registry.json").write_text(json.dumps({"datasets": {"mine": {"root": str(registered)}}}))
    (workdir / "mine").mkdir()
    write_jsonl(workdir / "mine" / "test.jsonl", GT_LINES[:2])
    with pytest.raises(UsageError, match="registered dataset 'mine'"):
        resolve_ground_truth("mine/test")
    (workdir / "mine" / "test.jsonl").unlink()
    assert resolve_ground_truth("mine/test") == (registered / "test.jsonl", None)
