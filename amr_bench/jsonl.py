"""Reading JSON Lines files with line numbers, reporting every unreadable line.

The fast path parses each line with orjson; a line orjson rejects is parsed again with the
standard library to say precisely what is wrong (invalid UTF-8, a NaN/Infinity literal, a lone
surrogate, a syntax error with its column). NaN/Infinity literals are kept as float values so that
the semantic checks can name the offending window as well.

What orjson accepts silently but a scorer must not is caught here too, at little cost: a line
whose count of ``:`` differs from the number of keys it parsed to (or whose qid parsed to a float)
is parsed again with the standard library, which keeps integers of any size exactly and names
duplicate keys. Reading is bounded: a file larger than ``MAX_FILE_BYTES`` or a line longer than
``MAX_LINE_BYTES`` is an error, never unbounded memory (``/dev/zero``). Gzip input is recognised;
a ``.gz`` file is decompressed transparently (the hash is that of the decompressed text).
"""

from __future__ import annotations

import gc
import gzip
import hashlib
import io
import json
import os
import re
import stat
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import repeat
from pathlib import Path
from typing import Any, BinaryIO

import orjson

from amr_bench.errors import InputError, Problem

#: The largest file read (after decompression), and the longest line: far above any real
#: submission or ground truth (100,000 queries take about 30 MB).
MAX_FILE_BYTES = 2 * 2**30
MAX_LINE_BYTES = 16 * 2**20
_CHUNK = 2**20
_COMPRESSED = {
    b"\x1f\x8b": "gzip",
    b"\x28\xb5\x2f\xfd": "zstd",
    b"BZh": "bzip2",
    b"\xfd7zXZ\x00": "xz",
    b"PK\x03\x04": "zip",
}


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


def _unreadable(name: str, message: str) -> InputError:
    return InputError([Problem(name, None, message, "error", "unreadable")], f"cannot read {name}: {message}")


def read_bytes(path: str | Path) -> bytes:
    """The content of ``path``, read once and with a bound; gzip decompressed when named ``.gz``.

    Raises ``InputError`` (never ``OSError``) for a file that cannot be read, is too large,
    holds a line longer than ``MAX_LINE_BYTES`` (checked while reading a device or a pipe) or is
    compressed in a way that is not read transparently."""
    path = Path(path)
    name = str(path)
    try:
        with open(path, "rb") as f:
            mode = os.fstat(f.fileno()).st_mode
            if stat.S_ISREG(mode):
                size = os.fstat(f.fileno()).st_size
                if size > MAX_FILE_BYTES:
                    raise _unreadable(name, f"the file has {size:,} bytes, more than the {MAX_FILE_BYTES:,} read")
                data = f.read(size + 1)  # never a buffer of the bound's size
                if len(data) > size:  # the file grew since: read the rest with the bound
                    data += _read_stream(f, name)
            else:
                data = _read_stream(f, name)
    except IsADirectoryError:
        raise _unreadable(name, "is a directory; expected a JSON Lines file") from None
    except OSError as exc:
        raise _unreadable(name, exc.strerror or str(exc)) from None
    if len(data) > MAX_FILE_BYTES:
        raise _unreadable(name, f"more than {MAX_FILE_BYTES:,} bytes")
    kind = next((k for magic, k in _COMPRESSED.items() if data.startswith(magic)), None)
    if kind == "gzip" and path.suffix == ".gz":
        return _gunzip(data, name)
    if kind is not None:
        hint = "decompress it or name it .jsonl.gz" if kind == "gzip" else "decompress it first"
        raise _unreadable(name, f"compressed input ({kind}), not JSON Lines: {hint}")
    return data


def _read_stream(f: BinaryIO, name: str) -> bytes:
    """Read a pipe or a device in chunks, stopping at the first over-long line or the size bound."""
    parts: list[bytes] = []
    total = 0
    since_newline = 0
    while chunk := f.read(_CHUNK):
        parts.append(chunk)
        total += len(chunk)
        last = chunk.rfind(b"\n")
        since_newline = since_newline + len(chunk) if last < 0 else len(chunk) - last - 1
        if since_newline > MAX_LINE_BYTES:
            line = b"".join(parts).count(b"\n") + 1
            raise InputError(
                [Problem(name, line, f"line longer than {MAX_LINE_BYTES:,} bytes: not a JSON Lines file?")],
                f"cannot read {name}: a line is longer than {MAX_LINE_BYTES:,} bytes",
            )
        if total > MAX_FILE_BYTES:
            raise _unreadable(name, f"more than {MAX_FILE_BYTES:,} bytes")
    return b"".join(parts)


def _gunzip(data: bytes, name: str) -> bytes:
    try:
        parts: list[bytes] = []
        total = 0
        with gzip.GzipFile(fileobj=io.BytesIO(data)) as g:
            while (part := g.read(_CHUNK)) and total <= MAX_FILE_BYTES:  # a bomb stops at the bound
                parts.append(part)
                total += len(part)
        out = b"".join(parts)
    except (OSError, EOFError, zlib.error) as exc:
        raise _unreadable(name, f"corrupt gzip data ({exc})") from None
    if len(out) > MAX_FILE_BYTES:
        raise _unreadable(name, f"decompresses to more than {MAX_FILE_BYTES:,} bytes")
    return out


def read_jsonl(path: str | Path) -> JsonlFile:
    """Read ``path``; unreadable lines become problems, readable ones records."""
    path = Path(path)
    return parse_jsonl_bytes(read_bytes(path), path)


def parse_jsonl_bytes(data: bytes, path: Path, sha256: str | None = None) -> JsonlFile:
    """All the records of ``data`` at once (see :func:`iter_jsonl_chunks` for large files)."""
    out = JsonlFile(path, [], [], [], sha256 or hashlib.sha256(data).hexdigest(), len(data))
    for records, lines in iter_jsonl_chunks(data, str(path), out.problems):
        out.records += records
        out.lines += lines
    return out


#: Bytes of JSON Lines parsed at a time by :func:`iter_jsonl_chunks`.
CHUNK_BYTES = 2**18
_NON_SPACE = re.compile(rb"[^ \t\r\n]")


def iter_jsonl_chunks(
    data: bytes, name: str, problems: list[Problem], chunk_bytes: int | None = None
) -> Iterator[tuple[list[Any], list[int]]]:
    """The parsed lines of ``data``, about ``chunk_bytes`` of them at a time, as (records, line
    numbers); unreadable lines and whole-file findings are appended to ``problems``. Each chunk
    can be checked and dropped before the next is parsed, so that the parsed JSON of a large
    file is never all in memory at once."""
    first = _NON_SPACE.search(data)
    if first is None:
        problems.append(Problem(name, None, "the file is empty: expected one JSON object per line"))
        return
    if data[first.start() : first.start() + 1] == b"[":
        problems.append(
            Problem(
                name,
                data.count(b"\n", 0, first.start()) + 1,
                "found a JSON array; expected JSON Lines (one JSON object per line, no enclosing [ ])",
            )
        )
        return
    chunk_bytes = chunk_bytes or CHUNK_BYTES
    blank, first_blank, base, pos = 0, 0, 0, 0
    while pos < len(data):
        end = data.find(b"\n", pos + chunk_bytes)
        end = len(data) if end < 0 else end + 1
        raw_lines = data[pos:end].split(b"\n")
        if data[end - 1 : end] == b"\n":
            raw_lines.pop()
        pos = end
        too_long = set()
        if max(map(len, raw_lines)) > MAX_LINE_BYTES:
            too_long = {i for i, ln in enumerate(raw_lines) if len(ln) > MAX_LINE_BYTES}
            for i in sorted(too_long):
                problems.append(
                    Problem(
                        name,
                        base + i + 1,
                        f"line longer than {MAX_LINE_BYTES:,} bytes: not read",
                        "error",
                        "line-too-long",
                    )
                )
        numbered = [(base + i + 1, ln) for i, ln in enumerate(raw_lines) if ln.strip()]
        if len(numbered) < len(raw_lines):
            blank += len(raw_lines) - len(numbered)
            first_blank = first_blank or next(base + i + 1 for i, ln in enumerate(raw_lines) if not ln.strip())
        if too_long:
            numbered = [(n, ln) for n, ln in numbered if n - base - 1 not in too_long]
        base += len(raw_lines)
        yield _parse_lines(numbered, name, problems)
    if blank:
        problems.append(Problem(name, first_blank, f"{blank} blank line(s) ignored (first here)", "warning"))


def _parse_lines(numbered: list[tuple[int, bytes]], name: str, problems: list[Problem]) -> tuple[list[Any], list[int]]:
    loads = orjson.loads
    try:
        with no_cyclic_gc():
            records = [loads(ln) for _, ln in numbered]
        lines = [n for n, _ in numbered]
    except orjson.JSONDecodeError:
        records, lines = [], []
        for n, ln in numbered:
            try:
                value = loads(ln)
            except orjson.JSONDecodeError:
                value, problem = _diagnose(ln, name, n)
                if problem is not None:
                    problems.append(problem)
                    continue
            records.append(value)
            lines.append(n)
        kept = set(lines)
        numbered = [(n, ln) for n, ln in numbered if n in kept]
    return _recheck_suspects(records, lines, [ln for _, ln in numbered], name, problems)


def _recheck_suspects(
    records: list[Any], lines: list[int], raw: list[bytes], name: str, problems: list[Problem]
) -> tuple[list[Any], list[int]]:
    """Parse again, with the standard library, every line that may hide a duplicate key or a qid
    orjson turned into a float (integers beyond 64 bits): those whose ``:`` count differs from
    the number of keys parsed. Duplicate keys are errors; big integers are kept exactly."""
    colons = list(map(bytes.count, raw, repeat(b":")))
    keys = [len(r) if type(r) is dict and type(r.get("qid")) is not float else -1 for r in records]
    if colons == keys:
        return records, lines
    bad: set[int] = set()
    for i, (c, k) in enumerate(zip(colons, keys, strict=True)):
        if c == k:
            continue
        try:
            records[i] = json.loads(raw[i], object_pairs_hook=_unique_keys)
        except _DuplicateKey as exc:
            problems.append(
                Problem(
                    name,
                    lines[i],
                    f"duplicate key {exc.key!r} in one JSON object (only one value can count): remove one",
                    "error",
                    "duplicate-key",
                )
            )
            bad.add(i)
        except (ValueError, RecursionError):  # NaN literals and the like: orjson's reading stands
            pass
    if bad:
        records = [r for i, r in enumerate(records) if i not in bad]
        lines = [n for i, n in enumerate(lines) if i not in bad]
    return records, lines


class _DuplicateKey(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in pairs:
        if k in out:
            raise _DuplicateKey(k)
        out[k] = v
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
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        return None, Problem(name, n, f"invalid JSON: {exc.msg} at column {exc.colno}", "error", "invalid-json")
    except RecursionError:
        return None, Problem(name, n, "invalid JSON: nested too deeply", "error", "invalid-json")
    except ValueError as exc:  # e.g. an integer of more than 4300 digits
        return None, Problem(name, n, f"invalid JSON: {exc}", "error", "invalid-json")
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return None, Problem(
            name,
            n,
            "a string holds a lone UTF-16 surrogate (a \\ud800-\\udfff escape that is not part of a pair): "
            "not valid Unicode",
            "error",
            "invalid-unicode",
        )
    except (RecursionError, ValueError):
        return None, Problem(name, n, "invalid JSON: nested too deeply", "error", "invalid-json")
    return value, None
