"""Release hygiene: one version, the licence in the wheel, typed packages, a changelog, test tiers."""

from __future__ import annotations

import os
import zipfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

import amr_bench

tomllib = pytest.importorskip("tomllib")  # Python >= 3.11

ROOT = Path(__file__).resolve().parents[2]


def pyproject() -> dict[str, Any]:
    with open(ROOT / "pyproject.toml", "rb") as f:
        return tomllib.load(f)


def test_the_version_is_written_once_and_hatch_reads_it() -> None:
    project = pyproject()
    assert "version" not in project["project"] and "version" in project["project"]["dynamic"]
    assert project["tool"]["hatch"]["version"]["path"] == "amr_bench/__init__.py"
    written = [
        str(p.relative_to(ROOT))
        for p in (ROOT / "amr_bench").rglob("*.py")
        if "__version__ = " in p.read_text(encoding="utf-8")
    ]
    assert written == ["amr_bench/__init__.py"]


def test_the_licence_is_the_full_apache_2_text() -> None:
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert "Apache License" in text and "Version 2.0, January 2004" in text
    assert (
        "TERMS AND CONDITIONS FOR USE, REPRODUCTION, AND DISTRIBUTION" in text and "END OF TERMS AND CONDITIONS" in text
    )
    assert pyproject()["project"]["license"] == "Apache-2.0"


def test_both_packages_are_marked_typed() -> None:
    assert (ROOT / "amr_bench" / "py.typed").is_file()
    assert (ROOT / "baselines" / "amr_bench_baselines" / "py.typed").is_file()


def test_the_changelog_has_an_unreleased_section_and_the_current_version() -> None:
    text = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    assert "## [Unreleased]" in text
    assert f"## [{amr_bench.__version__}]" in text
    unreleased = text.split("## [Unreleased]", 1)[1].split("\n## [", 1)[0]
    for area in ("Hardening", "Organisers", "Baselines", "Speed", "Engineering"):
        assert f"### {area}" in unreleased, area


def test_the_ci_profile_is_derandomised_and_the_nightly_one_is_not() -> None:
    assert settings.get_profile("ci").derandomize is True
    assert settings.get_profile("nightly").derandomize is False
    if "HYPOTHESIS_PROFILE" not in os.environ:
        assert settings().derandomize is True


def test_the_markers_of_the_tiers_are_declared() -> None:
    markers = " ".join(pyproject()["tool"]["pytest"]["ini_options"]["markers"])
    for name in ("slow:", "gpu:", "browser:"):
        assert name in markers
    script = (ROOT / "scripts" / "test.sh").read_text(encoding="utf-8")
    assert '-m "not slow"' in script
    assert "scripts/test.sh --gates" in (ROOT / ".ci" / "run").read_text(encoding="utf-8")


@pytest.mark.slow  # builds a wheel
def test_the_wheel_carries_the_licence_the_typed_markers_and_the_version(built_wheel: Path) -> None:
    wheel = built_wheel
    assert wheel.name.startswith(f"amr_bench-{amr_bench.__version__}-")
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        metadata = zf.read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)
    assert {"amr_bench/py.typed", "amr_bench_baselines/py.typed"} <= names
    assert f"Version: {amr_bench.__version__}\n" in metadata
    assert "License-Expression: Apache-2.0" in metadata and "Project-URL: " in metadata
