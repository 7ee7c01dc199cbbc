"""DCASE 2026 Task 6 submission packages: check the zip, extract it safely, validate every file.

A package is a zip holding, for up to four systems ``n`` = 1..4,
``<Lastname>_<Inst>_task6_<n>.output.jsonl`` (one line per query, windows ranked by list order,
no scores) and ``<Lastname>_<Inst>_task6_<n>.meta.yaml`` (see ``schemas/dcase_meta.schema.json``),
plus one technical report ``<Lastname>_<Inst>_task6_technical_report.pdf``. Files may sit at the
top level or inside folders; only their base names matter.

The archive is inspected before anything is written: member names (absolute paths, drive letters,
``..``, NUL bytes), symlinks and other special files, number of members, declared sizes and
compression ratios (zip bombs). Extraction then goes into a temporary folder only, through our own
file names, and stops as soon as a member grows past its declared size (headers can lie).

Every problem is reported as ``PACKAGE.zip!MEMBER:LINE: message``.
"""

from __future__ import annotations

import hashlib
import re
import stat
import tempfile
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import yaml

from amr_bench.errors import InputError, Problem

TEAM = r"[A-Za-z][A-Za-z'-]*_[A-Za-z0-9][A-Za-z0-9-]*"
SYSTEM_FILE = re.compile(rf"^(?P<team>{TEAM})_task6_(?P<n>\d+)\.(?P<kind>output\.jsonl|meta\.yaml)$")
REPORT_FILE = re.compile(rf"^(?P<team>{TEAM})_task6_technical_report\.pdf$")
IGNORED = re.compile(r"(^|/)(__MACOSX/|\.DS_Store$|Thumbs\.db$)")
MAX_SYSTEMS = 4
_CHUNK = 1 << 16


@dataclass(frozen=True)
class ArchiveLimits:
    max_members: int = 32
    max_member_bytes: int = 256 << 20
    max_total_bytes: int = 512 << 20
    max_ratio: float = 200.0  # uncompressed / compressed, checked for members above ratio_floor
    ratio_floor: int = 1 << 20


@dataclass
class PackageSystem:
    label: str
    number: int
    output_path: Path
    meta_path: Path
    output_display: str
    meta: dict[str, Any]


@dataclass
class Package:
    path: Path
    sha256: str
    team: str
    systems: list[PackageSystem]
    report_name: str
    report_sha256: str
    warnings: list[Problem] = field(default_factory=list)


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def check_archive(path: Path, limits: ArchiveLimits = ArchiveLimits()) -> list[zipfile.ZipInfo]:
    """The members to extract, after every safety check; raises ``InputError`` listing all failures."""
    name = path.name
    if not zipfile.is_zipfile(path):
        raise InputError([Problem(name, None, "not a zip archive")])
    problems: list[Problem] = []
    keep: list[zipfile.ZipInfo] = []
    with zipfile.ZipFile(path) as zf:
        infos = zf.infolist()
    if len(infos) > limits.max_members:
        problems.append(
            Problem(
                name,
                None,
                f"{len(infos)} members; a package holds at most "
                f"{limits.max_members} (4 systems x 2 files + the report)",
            )
        )
    total = 0
    for info in infos:
        where = f"{name}!{info.filename}"
        member = info.filename.replace("\\", "/")
        parts = PurePosixPath(member).parts
        mode = info.external_attr >> 16
        if "\x00" in member:
            problems.append(Problem(where, None, "member name contains a NUL byte"))
        elif member.startswith("/") or re.match(r"^[A-Za-z]:", member):
            problems.append(Problem(where, None, "absolute path in the archive; paths must be relative"))
        elif ".." in parts:
            problems.append(Problem(where, None, "path traversal ('..') in the archive"))
        elif info.create_system == 3 and stat.S_ISLNK(mode):
            problems.append(Problem(where, None, "symbolic link in the archive; include the file itself"))
        elif info.create_system == 3 and stat.S_IFMT(mode) and not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
            problems.append(Problem(where, None, "special file (device, fifo...) in the archive"))
        elif info.flag_bits & 0x1:
            problems.append(Problem(where, None, "encrypted member; packages must not be encrypted"))
        if info.is_dir():
            continue
        total += info.file_size
        if info.file_size > limits.max_member_bytes:
            problems.append(
                Problem(where, None, f"{info.file_size} bytes uncompressed; at most {limits.max_member_bytes} per file")
            )
        if info.file_size > limits.ratio_floor and (info.file_size > limits.max_ratio * max(info.compress_size, 1)):
            ratio = info.file_size / max(info.compress_size, 1)
            problems.append(
                Problem(where, None, f"compression ratio {ratio:.0f}:1 exceeds {limits.max_ratio:.0f}:1 (zip bomb?)")
            )
        keep.append(info)
    if total > limits.max_total_bytes:
        problems.append(Problem(name, None, f"{total} bytes uncompressed in total; at most {limits.max_total_bytes}"))
    if problems:
        raise InputError(problems, f"{path.name}: unsafe or oversized archive, nothing extracted")
    return keep


def extract_checked(
    path: Path, infos: list[zipfile.ZipInfo], dest: Path, limits: ArchiveLimits = ArchiveLimits()
) -> dict[str, Path]:
    """Write the members into ``dest`` under numbered names; returns member name -> file.

    Sizes are enforced while streaming: a member that inflates past its declared size (or the
    per-file limit) aborts the extraction.
    """
    out: dict[str, Path] = {}
    written = 0
    with zipfile.ZipFile(path) as zf:
        for k, info in enumerate(infos):
            target = dest / f"{k:03d}_{PurePosixPath(info.filename.replace(chr(92), '/')).name}"
            cap = min(info.file_size, limits.max_member_bytes)
            size = 0
            where = f"{path.name}!{info.filename}"
            try:
                with zf.open(info) as src, open(target, "wb") as dst:
                    while chunk := src.read(_CHUNK):
                        size += len(chunk)
                        written += len(chunk)
                        if size > cap or written > limits.max_total_bytes:
                            raise InputError(
                                [Problem(where, None, "member inflates past its declared size (zip bomb?)")]
                            )
                        dst.write(chunk)
            except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
                raise InputError(
                    [Problem(where, None, f"corrupt member or a size that does not match its header ({exc})")]
                ) from None
            out[info.filename] = target
    return out


@contextmanager
def open_package(path: str | Path, limits: ArchiveLimits = ArchiveLimits()) -> Iterator[Package]:
    """Check, extract (into a temporary folder that lives as long as the context) and validate.

    Raises ``InputError`` with every problem found in the layout and the ``.meta.yaml`` files.
    The outputs' lines are validated against a ground truth by the caller (:func:`ingest`).
    """
    path = Path(path)
    infos = check_archive(path, limits)
    with tempfile.TemporaryDirectory(prefix="amr-bench-package-") as tmp:
        files = extract_checked(path, infos, Path(tmp), limits)
        yield _read_layout(path, files)


def _read_layout(path: Path, files: dict[str, Path]) -> Package:
    name = path.name
    problems: list[Problem] = []
    warnings: list[Problem] = []
    by_base: dict[str, str] = {}
    systems: dict[int, dict[str, str]] = {}
    teams: set[str] = set()
    reports: list[str] = []
    for member in sorted(files):
        where = f"{name}!{member}"
        base = PurePosixPath(member.replace("\\", "/")).name
        if IGNORED.search(member.replace("\\", "/")):
            warnings.append(Problem(where, None, "operating-system metadata file ignored", "warning"))
            continue
        if base in by_base:
            problems.append(Problem(where, None, f"duplicate file name (also {by_base[base]})"))
            continue
        by_base[base] = member
        m = SYSTEM_FILE.match(base)
        r = REPORT_FILE.match(base)
        if m:
            n = int(m["n"])
            teams.add(m["team"])
            if not 1 <= n <= MAX_SYSTEMS:
                problems.append(
                    Problem(where, None, f"system number {n}: DCASE allows systems _1 to _{MAX_SYSTEMS} only")
                )
            systems.setdefault(n, {})[m["kind"]] = member
        elif r:
            teams.add(r["team"])
            reports.append(member)
        elif base.lower().endswith(".pdf"):
            warnings.append(
                Problem(
                    where,
                    None,
                    "technical report should be named <Lastname>_<Inst>_task6_technical_report.pdf",
                    "warning",
                )
            )
            reports.append(member)
        else:
            problems.append(
                Problem(
                    where,
                    None,
                    "unexpected file; a package holds "
                    "<Lastname>_<Inst>_task6_<n>.output.jsonl, .meta.yaml and the "
                    "technical report PDF",
                )
            )
    if len(teams) > 1:
        problems.append(
            Problem(
                name,
                None,
                "files name different submitters: " + ", ".join(sorted(teams)) + " (one <Lastname>_<Inst> per package)",
            )
        )
    if len(systems) > MAX_SYSTEMS:
        problems.append(Problem(name, None, f"{len(systems)} systems; at most {MAX_SYSTEMS} per package"))
    if not systems:
        problems.append(Problem(name, None, "no <Lastname>_<Inst>_task6_<n>.output.jsonl in the package"))
    team = sorted(teams)[0] if teams else "unknown"
    parsed: list[PackageSystem] = []
    for n in sorted(systems):
        kinds = systems[n]
        label = f"{team}_task6_{n}"
        for kind, other in (("output.jsonl", "meta.yaml"), ("meta.yaml", "output.jsonl")):
            if kind in kinds and other not in kinds:
                problems.append(Problem(f"{name}!{kinds[kind]}", None, f"no matching {label}.{other} in the package"))
        if "meta.yaml" in kinds:
            meta, meta_problems = read_meta(files[kinds["meta.yaml"]], f"{name}!{kinds['meta.yaml']}", label)
            problems += meta_problems
            if "output.jsonl" in kinds and meta is not None:
                parsed.append(
                    PackageSystem(
                        label,
                        n,
                        files[kinds["output.jsonl"]],
                        files[kinds["meta.yaml"]],
                        f"{name}!{kinds['output.jsonl']}",
                        meta,
                    )
                )
    report_sha = ""
    if not reports:
        problems.append(Problem(name, None, "no technical report (<Lastname>_<Inst>_task6_technical_report.pdf)"))
    elif len(reports) > 1:
        problems.append(Problem(name, None, "more than one PDF: " + ", ".join(reports)))
    else:
        data = files[reports[0]].read_bytes()
        if not data.startswith(b"%PDF-"):
            problems.append(Problem(f"{name}!{reports[0]}", None, "not a PDF file (no %PDF- header)"))
        report_sha = sha256_bytes(data)
    if problems:
        raise InputError(problems + warnings, f"{name}: {len(problems)} error(s) in the package")
    return Package(
        path, sha256_bytes(path.read_bytes()), team, parsed, PurePosixPath(reports[0]).name, report_sha, warnings
    )


def read_meta(path: Path, display: str, label: str) -> tuple[dict[str, Any] | None, list[Problem]]:
    """Parse and validate one ``.meta.yaml``; problems carry the YAML line they refer to."""
    from amr_bench.schemas import validator

    text = path.read_bytes().decode("utf-8", errors="replace")
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        reason = getattr(exc, "problem", None) or str(exc)
        return None, [Problem(display, line, f"invalid YAML: {reason}")]
    if not isinstance(data, dict):
        return None, [Problem(display, 1, "expected a YAML mapping with submission, system, results")]
    problems = []
    for error in sorted(validator("dcase_meta").iter_errors(data), key=lambda e: list(map(str, e.absolute_path))):
        at = "/".join(str(p) for p in error.absolute_path) or "(top level)"
        problems.append(Problem(display, _yaml_line(node, list(error.absolute_path)), f"{at}: {error.message}"))
    got = (data.get("submission") or {}).get("label") if isinstance(data.get("submission"), dict) else None
    if isinstance(got, str) and got != label:
        problems.append(
            Problem(
                display,
                _yaml_line(node, ["submission", "label"]),
                f"submission/label is {got!r} but the file is {label}.meta.yaml",
            )
        )
    return (data if not problems else None), problems


def _yaml_line(node: yaml.Node | None, path: list[Any]) -> int | None:
    """1-based line of the deepest YAML node along ``path`` (a key path from jsonschema)."""
    if node is None:
        return None
    for step in path:
        child = None
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if getattr(key, "value", None) == str(step):
                    child = value
                    break
        elif isinstance(node, yaml.SequenceNode) and isinstance(step, int) and step < len(node.value):
            child = node.value[step]
        if child is None:
            break
        node = child
    return node.start_mark.line + 1


def check_outputs(package: Package, gt: Any) -> list[Problem]:
    """Validate every system's output lines against the ground truth (problems name the member)."""
    from amr_bench.jsonl import parse_jsonl_bytes
    from amr_bench.validation import validate_file

    problems: list[Problem] = []
    for system in package.systems:
        f = parse_jsonl_bytes(system.output_path.read_bytes(), Path(system.output_display))
        problems += validate_file(f, gt).problems
    return problems


def ingest(
    store: Any,
    path: str | Path,
    gt: Any,
    benchmark: str,
    limits: ArchiveLimits = ArchiveLimits(),
    check_only: bool = False,
) -> list[Any]:
    """Check, validate and (unless ``check_only``) score and store every system of a package.

    All or nothing: any error in any file rejects the whole package and stores nothing.
    Returns the :class:`amr_bench.leaderboard.results.Added` of each system (empty when checking).
    """
    from amr_bench.leaderboard.results import add_file

    with open_package(path, limits) as package:
        problems = check_outputs(package, gt)
        if any(p.is_error for p in problems):
            raise InputError(
                problems + package.warnings, f"{package.path.name}: the outputs have errors; nothing was stored"
            )
        if check_only:
            return []
        package_id = store.add_package(
            team=package.team,
            sha256=package.sha256,
            file_name=package.path.name,
            report_name=package.report_name,
            report_sha256=package.report_sha256,
        )
        added = []
        for system in package.systems:
            meta = {**system.meta, "package": package.path.name, "report": package.report_name}
            added.append(
                add_file(
                    store,
                    system.output_path,
                    gt,
                    team=package.team,
                    system=system.label,
                    benchmark=benchmark,
                    display=system.output_display,
                    system_meta=meta,
                    package_id=package_id,
                )
            )
        return added
