"""The repository is self-contained: it cites its own docs/ and papers, never documents outside it."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SKIPPED_DIRS = {"__pycache__", "build", "dist", "amr-bench-demo", "node_modules"}
BINARY_SUFFIXES = {".npz", ".npy", ".pdf", ".png", ".jpg", ".sqlite", ".whl", ".gz", ".zip", ".safetensors", ".pyc"}
# Built from pieces so that this file does not match its own patterns.
OUTSIDE_CITATIONS = {
    "a file outside the repository": re.compile("REFERENCE" + r"\.md"),
    "a section number of an outside document": re.compile("\u00a7" + r"\s*\d"),
    "a private paper label": re.compile(r"\bseeds?[ _/]+0\d\d(?!\d)", re.IGNORECASE),
}
DOCS_LINK = re.compile(r"\bdocs/([A-Za-z0-9_-]+\.md)\b")
EXPECTED_PAGES = (
    "README.md",
    "scorer.md",
    "data-formats.md",
    "msclap.md",
    "baselines.md",
    "dcase-packages.md",
    "hardening.md",
    "reproduce.md",
    "results-pages.md",
    "codabench.md",
    "scoring.md",
    "organising.md",
    "leaderboard-site.md",
    "running-baselines.md",
    "datasets.md",
)


def repository_files() -> list[Path]:
    """Tracked and untracked-but-not-ignored files in a git checkout; otherwise every file below ROOT."""
    try:
        out = subprocess.run(
            ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
            cwd=ROOT,
            capture_output=True,
            check=True,
        ).stdout.decode()
        names = [n for n in out.split("\0") if n]
    except (OSError, subprocess.CalledProcessError):
        names = []
        for folder, dirs, files in os.walk(ROOT):
            dirs[:] = [
                d for d in dirs if not d.startswith(".") and d not in SKIPPED_DIRS and not d.endswith(".egg-info")
            ]
            names += [str(Path(folder, f).relative_to(ROOT)) for f in files]
    return [ROOT / n for n in sorted(names) if Path(n).suffix not in BINARY_SUFFIXES and (ROOT / n).is_file()]


def read_text(path: Path) -> str:
    return path.read_bytes().decode("utf-8", errors="replace")


def test_no_file_cites_a_document_or_label_outside_the_repository() -> None:
    offenders = []
    for path in repository_files():
        for number, line in enumerate(read_text(path).splitlines(), start=1):
            for what, pattern in OUTSIDE_CITATIONS.items():
                if pattern.search(line):
                    offenders.append(f"{path.relative_to(ROOT)}:{number}: cites {what}: {line.strip()[:100]}")
    assert offenders == [], "\n".join(offenders)


@pytest.mark.parametrize(
    "line",
    [
        "(see " + "REFERENCE" + ".md \u00a72)",
        "the method of seed" + " 001",
        "Seeds" + "/004_x.txt",
        "as in \u00a7" + "6 of the notes",
    ],
)
def test_the_citation_patterns_catch_what_they_are_meant_to(line: str) -> None:
    assert any(p.search(line) for p in OUTSIDE_CITATIONS.values())


@pytest.mark.parametrize("line", ["amr-bench train --seed 0", "runs/am/seed-0/best", "seed 17771", "--seeds 0,1,2"])
def test_the_citation_patterns_leave_training_seeds_alone(line: str) -> None:
    assert not any(p.search(line) for p in OUTSIDE_CITATIONS.values())


def test_the_docs_folder_has_every_page_and_the_index_links_them() -> None:
    index = (ROOT / "docs" / "README.md").read_text(encoding="utf-8")
    for page in EXPECTED_PAGES:
        assert (ROOT / "docs" / page).is_file(), page
        assert page == "README.md" or f"]({page})" in index, f"docs/README.md does not link {page}"


def test_every_cited_docs_page_exists() -> None:
    missing = [
        f"{path.relative_to(ROOT)}: docs/{page}"
        for path in repository_files()
        for page in DOCS_LINK.findall(read_text(path))
        if not (ROOT / "docs" / page).is_file()
    ]
    assert missing == [], missing
