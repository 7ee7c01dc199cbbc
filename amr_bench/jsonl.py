"""Reading JSON Lines files with line numbers, reporting every unreadable line.

The fast path parses each line with orjson; a line orjson rejects is parsed again with the
standard library to say precisely what is wrong (invalid UTF-8, a NaN/Infinity literal, a syntax
error with its column). NaN/Infinity literals are kept as float values so that the semantic checks
can name the offending window as well.
"""

from __future__ import annotations

import gc
import hashlib
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from amr_bench.errors import Problem


@dataclass
class JsonlFile:
    """The parsed lines of a JSON Lines file: ``records[i]`` was on line ``lines[i]`` (1-based)."""

    path: Path
    records: list[Any]
    lines: list[int]
    problems: list[Problem] = field(default_factory=list)
    sha256: str = ""
    size: int = 0

    @classmethod
    def from_records(cls, records: list[Any], name: str) -> JsonlFile:
        """In-memory records as if read from a file called ``name`` (line i+1 holds record i);
        the hash is that of their canonical JSON Lines serialisation."""
        opts = orjson.OPT_SORT_KEYS | orjson.OPT_SERIALIZE_NUMPY
        data = b"".join(orjson.dumps(r, option=opts) + b"\n" for r in records)
        return cls(
            Path(name), list(records), list(range(1, len(records) + 1)), [], hashlib.sha256(data).hexdigest(), len(data)
        )


def read_jsonl(path: str | Path) -> JsonlFile:
    """Read ``path``; unreadable lines become problems, readable ones records."""
    path = Path(path)
    data = path.read_bytes()
    return parse_jsonl_bytes(data, path)


def parse_jsonl_bytes(data: bytes, path: Path) -> JsonlFile:
    out = JsonlFile(path, [], [], [], hashlib.sha256(data).hexdigest(), len(data))
    name = str(path)
    stripped = data.lstrip()
    if not stripped:
        out.problems.append(Problem(name, None, "the file is empty: expected one JSON object per line"))
        return out
    if stripped[:1] == b"[":
        first = data[: len(data) - len(stripped)].count(b"\n") + 1
        out.problems.append(
            Problem(name, first, "found a JSON array; expected JSON Lines (one JSON object per line, no enclosing [ ])")
        )
        return out
    raw_lines = data.split(b"\n")
    if raw_lines and raw_lines[-1] == b"":
        raw_lines.pop()
    numbered = [(i + 1, ln) for i, ln in enumerate(raw_lines) if ln.strip()]
    blank = len(raw_lines) - len(numbered)
    if blank:
        first_blank = next(i + 1 for i, ln in enumerate(raw_lines) if not ln.strip())
        out.problems.append(Problem(name, first_blank, f"{blank} blank line(s) ignored (first here)", "warning"))
    loads = orjson.loads
    try:
        with no_cyclic_gc():
            out.records = [loads(ln) for _, ln in numbered]
        out.lines = [n for n, _ in numbered]
        return out
    except orjson.JSONDecodeError:
        pass
    for n, ln in numbered:
        try:
            out.records.append(loads(ln))
            out.lines.append(n)
            continue
        except orjson.JSONDecodeError:
            pass
        value, problem = _diagnose(ln, name, n)
        if problem is not None:
            out.problems.append(problem)
        else:
            out.records.append(value)
            out.lines.append(n)
    return out


@contextmanager
def no_cyclic_gc() -> Iterator[None]:
    """Parsed JSON holds no reference cycles; the collector's passes over millions of new lists
    would only cost time (more than the parsing itself on large files)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _diagnose(line: bytes, name: str, n: int) -> tuple[Any, Problem | None]:
    """Explain why orjson rejected ``line``; NaN/Infinity literals parse (flagged later)."""
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError as exc:
        return None, Problem(
            name,
            n,
            f"invalid UTF-8 byte {line[exc.start : exc.start + 1]!r} at byte {exc.start + 1}; save the file as UTF-8",
            "error",
            "invalid-utf8",
        )
    try:
        return json.loads(text), None
    except json.JSONDecodeError as exc:
        return None, Problem(name, n, f"invalid JSON: {exc.msg} at column {exc.colno}", "error", "invalid-json")
    except RecursionError:
        return None, Problem(name, n, "invalid JSON: nested too deeply", "error", "invalid-json")
