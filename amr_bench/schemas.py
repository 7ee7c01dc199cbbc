"""Access to the JSON Schemas in ``schemas/`` (shipped in the wheel as ``amr_bench/_schemas``)."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from jsonschema import Draft202012Validator


_PACKAGE_DIR = Path(__file__).resolve().parent


def schema_dir() -> Path:
    """The folder holding the schemas: inside the installed wheel, or the source checkout's."""
    for candidate in (_PACKAGE_DIR / "_schemas", _PACKAGE_DIR.parent / "schemas"):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError("amr-bench schemas not found; the installation is incomplete")


@cache
def load_schema(name: str) -> dict[str, Any]:
    """Load ``schemas/<name>.schema.json``."""
    return json.loads((schema_dir() / f"{name}.schema.json").read_text("utf-8"))


@cache
def validator(name: str) -> Draft202012Validator:
    """The validator of ``schemas/<name>.schema.json`` (jsonschema is imported on first use: the
    fast path of a valid file never needs it)."""
    from jsonschema import Draft202012Validator

    schema = load_schema(name)
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)
