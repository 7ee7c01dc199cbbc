"""The registry of datasets and splits, kept as data in ``registry.json`` beside this module.

A split is addressed as ``DATASET/SPLIT`` (``castella/val``) wherever a ground-truth path is
accepted; anything that is an existing file path is used as a file instead.

User datasets (no code change needed): a dataset is a folder ``ROOT`` with ``ROOT/<split>.jsonl``
(+ features, see :mod:`amr_bench.datasets.features`). It can be addressed

- directly as ``ROOT/<split>`` (e.g. ``./sim/test`` when ``./sim/test.jsonl`` exists), or
- by name as ``NAME/<split>`` once listed in the user registry file: ``$AMR_BENCH_DATASETS`` if
  set, else ``$XDG_CONFIG_HOME/amr-bench/datasets.json`` (default ``~/.config/amr-bench/``),
  holding ``{"datasets": {"NAME": {"root": "/path/to/ROOT", "title": "..."}}}``
  (``amr-bench datasets register NAME ROOT`` writes it).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from amr_bench.errors import UsageError, did_you_mean
from amr_bench.hashing import sha256_file as sha256_file  # re-exported: the name callers know

GROUND_TRUTH_DIR = Path(str(resources.files("amr_bench") / "data" / "ground_truth"))


@dataclass(frozen=True)
class SplitEntry:
    dataset: str
    split: str
    file: str
    sha256: str
    queries: int
    has_windows: bool
    info: dict[str, Any]

    @property
    def name(self) -> str:
        return f"{self.dataset}/{self.split}"

    @property
    def path(self) -> Path:
        return GROUND_TRUTH_DIR / self.file


@lru_cache(maxsize=1)
def registry() -> dict[str, Any]:
    text = (resources.files("amr_bench.datasets") / "registry.json").read_text("utf-8")
    return json.loads(text)


def splits() -> list[SplitEntry]:
    out = []
    for ds_name, ds in registry()["datasets"].items():
        for split_name, s in ds["splits"].items():
            out.append(
                SplitEntry(ds_name, split_name, s["file"], s["sha256"], s["queries"], s.get("has_windows", True), ds)
            )
    return out


def find_split(name: str) -> SplitEntry | None:
    for entry in splits():
        if entry.name == name:
            return entry
    return None


def resolve_ground_truth(spec: str | Path) -> tuple[Path, SplitEntry | None]:
    """Turn a ``--gt`` value into a file: an existing path, a bundled ``DATASET/SPLIT``, a
    dataset folder's ``ROOT/SPLIT`` or a user-registered ``NAME/SPLIT``.

    A name that is none of these as a file path may match several sources at once: a bundled split,
    a registered dataset of the same name and a folder of that name in the working directory
    (``castella/val`` -> ``./castella/val.jsonl``). When the files they name hold the same bytes,
    the first of bundled, registered, folder is used; when they differ, the name is refused
    (``UsageError``) naming each file, never resolved silently to one of them: write ``./NAME/SPLIT``
    for the folder or give the file's path.
    """
    path = Path(spec)
    if path.is_file():
        return path, None
    entry = find_split(str(spec))
    sources = ([("the bundled split", entry.path)] if entry is not None else []) + _local_candidates(str(spec))
    if sources:
        _refuse_ambiguous(str(spec), sources)
        return (entry.path, entry) if entry is not None else (sources[0][1], None)
    names = [e.name for e in splits()]
    known = ", ".join(names)
    users = ", ".join(sorted(user_datasets()))
    hint = did_you_mean(str(spec), names + [f"{u}/" for u in sorted(user_datasets())])
    raise UsageError(
        f"ground truth {str(spec)!r} is neither a file nor a bundled split{hint}; bundled splits: {known}"
        + (f"; user datasets: {users}" if users else "")
        + "; a dataset folder ROOT is addressed as ROOT/<split> (file ROOT/<split>.jsonl)"
    )


def _same_content(a: Path, b: Path) -> bool:
    try:
        if os.path.samefile(a, b):
            return True
        if a.stat().st_size != b.stat().st_size:
            return False
        return a.read_bytes() == b.read_bytes()
    except OSError:
        return False


def _refuse_ambiguous(spec: str, sources: list[tuple[str, Path]]) -> None:
    first = sources[0][1]
    differing = [(what, p) for what, p in sources[1:] if not _same_content(first, p)]
    if differing:
        listed = "; ".join(f"{what}: {p}" for what, p in [sources[0], *differing])
        raise UsageError(
            f"ground truth {spec!r} is ambiguous: it names different files ({listed}); "
            f"write ./{spec} for the folder in the working directory, or give the file's path"
        )


def dataset_info(name: str) -> dict[str, Any] | None:
    """The registry entry of a bundled dataset (title, citation, licence, download, ...)."""
    return registry()["datasets"].get(name)


def user_registry_path() -> Path:
    """Where user datasets are registered (see the module docstring)."""
    env = os.environ.get("AMR_BENCH_DATASETS")
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "amr-bench" / "datasets.json"


def user_datasets() -> dict[str, dict[str, Any]]:
    """User-registered datasets: name -> ``{"root": ..., ...}`` (empty if no file)."""
    path = user_registry_path()
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text("utf-8"))
        entries = data["datasets"]
        if not isinstance(entries, dict) or not all(
            isinstance(v, dict) and isinstance(v.get("root"), str) for v in entries.values()
        ):
            raise TypeError
    except (ValueError, KeyError, TypeError):
        raise UsageError(
            f'{path}: not a user dataset registry; expected {{"datasets": {{"NAME": {{"root": "/path/to/folder"}}}}}}'
        ) from None
    return entries


def register_user_dataset(name: str, root: Path, title: str | None = None) -> Path:
    """Add (or replace) ``name`` -> ``root`` in the user registry file; returns the file."""
    from amr_bench.names import check_name

    check_name(name, "dataset name")
    if name in registry()["datasets"]:
        raise UsageError(f"dataset name {name!r} is a bundled dataset; choose another name")
    path = user_registry_path()
    entries = user_datasets()
    entries[name] = {"root": str(Path(root).resolve())} | ({"title": title} if title else {})
    path.parent.mkdir(parents=True, exist_ok=True)
    from amr_bench.outputs import write_text_atomic

    write_text_atomic(path, json.dumps({"datasets": dict(sorted(entries.items()))}, indent=2) + "\n")
    return path


def _local_candidates(spec: str) -> list[tuple[str, Path]]:
    """The existing files ``NAME/SPLIT`` names outside the bundled registry: the user-registered
    dataset's ``<root>/<split>.jsonl``, then the folder's ``ROOT/<split>.jsonl``."""
    head, sep, split = spec.rstrip("/").rpartition("/")
    if not sep or not split:
        return []
    candidates = [("the folder", Path(head) / f"{split}.jsonl")]
    user = user_datasets().get(head) if "/" not in head else None
    if user is not None:
        candidates.insert(0, (f"the registered dataset {head!r}", Path(user["root"]).expanduser() / f"{split}.jsonl"))
    return [(what, c) for what, c in candidates if c.is_file()]


def resolve_local_split(spec: str) -> Path | None:
    """``ROOT/SPLIT`` or ``NAME/SPLIT`` (user registry) -> the existing ``<root>/<split>.jsonl``
    (``UsageError`` when a registered dataset and a folder of the same name hold different files)."""
    found = _local_candidates(spec)
    if not found:
        return None
    _refuse_ambiguous(spec, found)
    return found[0][1]
