"""DCASE 2026 Task 6 submission packages: check the zip, read it in memory, check and score everything, then store.

A package is one zip per team, as DCASE ships it: a folder per task entered (``task6/``), in it one
folder per system named by its label (``Doe_UNI_task6_1/`` holding ``Doe_UNI_task6_1.meta.yaml``
and ``Doe_UNI_task6_1.output.jsonl``), up to four systems, and the team's technical report
``task6/Doe_UNI_task6.technical_report.pdf``. Only base names are keyed on (real zips differ in
leading folders). Accepted with a note: the flat layout (no ``task6/`` or no system folders), a
system-indexed report name (``Doe_UNI_task6_1.technical_report.pdf``) and the older
``Doe_UNI_task6_technical_report.pdf``. Other tasks' folders (``task1/``...) are ignored with one
note each. Meta files: :mod:`amr_bench.leaderboard.dcase_meta`.

All or nothing, bounded:

1. The archive is inspected before anything is read: member names (absolute, drive letters, ``..``,
   NUL bytes, duplicates, longer than a file system allows), symlinks and special files, encryption,
   the number of members, declared sizes and compression ratios (zip bombs).
2. Members are read into memory (no temporary folder, so nothing is left behind if intake is
   killed), stopping as soon as one inflates past its declared size (headers can lie).
3. The layout, every meta file (a bounded YAML reader: no aliases, no anchors, capped size and
   depth) and every output (validated and scored against the ground truth) are checked.
4. Only then is the package stored, in one transaction: every system or none.

``--check-only`` runs steps 1-3, the very same checks. Every problem is reported as
``PACKAGE.zip!MEMBER:LINE: message``; notes on what was assumed are returned with the result.
"""

from __future__ import annotations

import re
import stat
import zipfile
import zlib
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from amr_bench.errors import InputError, Problem, UsageError
from amr_bench.hashing import sha256_bytes, sha256_file
from amr_bench.leaderboard.dcase_meta import Label, check_meta, parse_label
from amr_bench.leaderboard.explorer import window_columns
from amr_bench.leaderboard.results import (
    Added,
    PreparedResult,
    confirmation,
    prepare_result,
    score_bytes,
    store_prepared,
)
from amr_bench.names import nfc

TASK_FOLDER = re.compile(r"^task(?P<n>[0-9]+)(?P<sub>[a-z]?)$", re.IGNORECASE)
SYSTEM_FILE = re.compile(r"^(?P<label>.+)\.(?P<kind>meta\.yaml|output\.jsonl)$")
MISNAMED_FILE = re.compile(r"^(?P<label>.+)\.(?P<kind>meta\.yml|output\.[A-Za-z0-9]+)$")
IGNORED = re.compile(r"(^|/)(__MACOSX/|\.DS_Store$|Thumbs\.db$)")
_CHUNK = 1 << 16


@dataclass(frozen=True)
class ArchiveLimits:
    max_members: int = 256  # a multi-task zip: several tasks x 4 systems x a few files + folders
    max_member_bytes: int = 64 << 20
    max_total_bytes: int = 256 << 20
    max_ratio: float = 200.0  # uncompressed / compressed, checked for members above ratio_floor
    ratio_floor: int = 1 << 20
    max_name_bytes: int = 255  # one path component (NAME_MAX of common file systems)
    max_path_bytes: int = 1024


@dataclass
class PackageSystem:
    label: Label
    output: bytes
    output_display: str
    meta: dict[str, Any]
    meta_display: str


@dataclass
class Package:
    path: Path
    sha256: str
    team: str
    systems: list[PackageSystem]
    report_name: str
    report: bytes
    notes: list[str] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)

    @property
    def report_sha256(self) -> str:
        return sha256_bytes(self.report)


@dataclass
class CheckedSystem:
    system: PackageSystem
    prepared: PreparedResult
    warnings: list[Problem]


@dataclass
class CheckedPackage:
    """A package that passed every check, its outputs scored; nothing stored yet."""

    package: Package
    systems: list[CheckedSystem]


@dataclass
class StoredSystem:
    team: str
    system: str
    benchmark: str
    added: Added


# -- 1. the archive -------------------------------------------------------------------------


def check_archive(path: Path, limits: ArchiveLimits = ArchiveLimits()) -> list[zipfile.ZipInfo]:
    """The file members to read, after every safety check; raises ``InputError`` listing all failures."""
    name = path.name
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise InputError([Problem(name, None, f"not a readable zip archive ({exc})")]) from None
    problems: list[Problem] = []
    if len(infos) > limits.max_members:
        problems.append(Problem(name, None, f"{len(infos)} members; a package holds at most {limits.max_members}"))
    counts = Counter(info.filename.replace("\\", "/") for info in infos)
    keep: list[zipfile.ZipInfo] = []
    total = 0
    for info in infos:
        where = f"{name}!{info.filename}"
        problem = _member_problem(info, limits)
        if counts[info.filename.replace("\\", "/")] > 1:
            problem = problem or "the archive holds two members of this name (unzip would show only one)"
        if problem:
            problems.append(Problem(where, None, problem))
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
        raise InputError(problems, f"{path.name}: unsafe or oversized archive, nothing read")
    return keep


def _member_problem(info: zipfile.ZipInfo, limits: ArchiveLimits) -> str | None:
    member = info.filename.replace("\\", "/")
    parts = PurePosixPath(member).parts
    mode = info.external_attr >> 16
    if "\x00" in member:
        return "member name contains a NUL byte"
    if member.startswith("/") or re.match(r"^[A-Za-z]:", member):
        return "absolute path in the archive; paths must be relative"
    if ".." in parts:
        return "path traversal ('..') in the archive"
    if len(member.encode("utf-8", "surrogateescape")) > limits.max_path_bytes or any(
        len(p.encode("utf-8", "surrogateescape")) > limits.max_name_bytes for p in parts
    ):
        return f"member name longer than a file system allows ({limits.max_name_bytes} bytes per name)"
    if info.create_system == 3 and stat.S_ISLNK(mode):
        return "symbolic link in the archive; include the file itself"
    if info.create_system == 3 and stat.S_IFMT(mode) and not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
        return "special file (device, fifo...) in the archive"
    if info.flag_bits & 0x1:
        return "encrypted member; packages must not be encrypted"
    return None


def read_members(path: Path, infos: list[zipfile.ZipInfo], limits: ArchiveLimits = ArchiveLimits()) -> dict[str, bytes]:
    """Member name -> bytes, read in memory; a member inflating past its declared size stops the reading."""
    out: dict[str, bytes] = {}
    read = 0
    with zipfile.ZipFile(path) as zf:
        for info in infos:
            cap = min(info.file_size, limits.max_member_bytes)
            where = f"{path.name}!{info.filename}"
            chunks: list[bytes] = []
            size = 0
            try:
                with zf.open(info) as src:
                    while chunk := src.read(_CHUNK):
                        size += len(chunk)
                        read += len(chunk)
                        if size > cap or read > limits.max_total_bytes:
                            raise InputError(
                                [Problem(where, None, "member inflates past its declared size (zip bomb?)")]
                            )
                        chunks.append(chunk)
            except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError) as exc:
                raise InputError(
                    [Problem(where, None, f"corrupt member or a size that does not match its header ({exc})")]
                ) from None
            out[info.filename.replace("\\", "/")] = b"".join(chunks)
    return out


def read_package(path: str | Path, limits: ArchiveLimits = ArchiveLimits()) -> Package:
    """Check the archive, read it and check its layout and meta files; raises ``InputError`` with every problem."""
    path = Path(path)
    members = read_members(path, check_archive(path, limits), limits)
    return _layout(path, members)


# -- 2. the layout --------------------------------------------------------------------------


@dataclass
class _Found:
    """What the layout pass collects."""

    systems: dict[int, dict[str, str]] = field(default_factory=lambda: defaultdict(dict))
    labels: dict[int, Label] = field(default_factory=dict)
    reports: list[str] = field(default_factory=list)
    other_tasks: Counter[str] = field(default_factory=Counter)
    problems: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    flat: set[str] = field(default_factory=set)


def _layout(path: Path, members: dict[str, bytes]) -> Package:
    name = path.name
    found = _Found()
    by_base: dict[str, str] = {}
    for member in sorted(members):
        where = f"{name}!{member}"
        parts = PurePosixPath(member).parts
        if IGNORED.search(member):
            found.warnings.append(Problem(where, None, "operating-system metadata file ignored", "warning"))
            continue
        at, number = _task_folder(parts)
        task = None if at is None else parts[at]
        if at is not None and number != "6":
            found.other_tasks["/".join(parts[: at + 1]) + "/"] += 1
            continue
        base = nfc(parts[-1])  # the same name in NFC and NFD is one file
        if base in by_base:
            found.problems.append(Problem(where, None, f"duplicate file name (also {by_base[base]})"))
            continue
        by_base[base] = member
        _classify(found, where, parts, task)
    for folder, n in sorted(found.other_tasks.items()):
        found.notes.append(f"{name}!{folder}: note: {n} file(s) of another task ignored (this is Task 6 intake)")
    if found.flat:
        found.notes.append(f"{name}: note: flat layout accepted ({', '.join(sorted(found.flat))})")
    team = _team(name, found)
    found.problems += _name_problems(name, team, found)
    systems = _systems(name, found, members)
    report_name, report = _report(name, found, members, team)
    if found.problems:
        raise InputError(found.problems + found.warnings, f"{name}: {len(found.problems)} error(s) in the package")
    return Package(path, sha256_file(path), team, systems, report_name, report, found.notes, found.warnings)


def _name_problems(name: str, team: str, found: _Found) -> list[Problem]:
    """The store's own name rule (:func:`store.check_name`) applied to the team and every label,
    here, so that ``--check-only`` refuses exactly what storing would."""
    from amr_bench.leaderboard.store import check_name

    problems = []
    for kind, value in [("team", team)] + [("system", label.text) for _, label in sorted(found.labels.items())]:
        try:
            check_name(kind, value)
        except UsageError as exc:
            problems.append(Problem(name, None, str(exc)))
    return problems if found.labels else []


def _task_folder(parts: tuple[str, ...]) -> tuple[int | None, str | None]:
    """Index and task number of the first ``task<N>[subtask]`` folder on the path, if any."""
    for k, part in enumerate(parts[:-1]):
        m = TASK_FOLDER.match(part)
        if m:
            return k, m["n"]
    return None, None


def _classify(found: _Found, where: str, parts: tuple[str, ...], task: str | None) -> None:
    base = parts[-1]
    folder = parts[-2] if len(parts) > 1 else None
    if base.lower().endswith(".pdf"):
        found.reports.append(where.split("!", 1)[1])
        return
    m = SYSTEM_FILE.match(base)
    if m is None:
        bad = MISNAMED_FILE.match(base)
        if bad:
            want = "meta.yaml" if bad["kind"].startswith("meta") else "output.jsonl"
            found.problems.append(Problem(where, None, f"misnamed file: Task 6 expects {bad['label']}.{want}"))
        else:
            found.warnings.append(Problem(where, None, "unexpected file ignored", "warning"))
        return
    label = parse_label(nfc(m["label"]))
    if isinstance(label, str):
        found.problems.append(Problem(where, None, label))
        return
    if folder is not None and nfc(folder) not in (task, label.text):
        found.problems.append(
            Problem(where, None, f"folder {folder!r} differs from the label {label.text!r} (folder = label)")
        )
    if task is None:
        found.flat.add("no task6/ folder")
    if folder is None or folder == task:
        found.flat.add("no system folders")
    other = found.labels.setdefault(label.number, label)
    if other.text != label.text:
        found.problems.append(Problem(where, None, f"system {label.number} is also labelled {other.text!r}"))
        return
    found.systems[label.number][m["kind"]] = where.split("!", 1)[1]


def _team(name: str, found: _Found) -> str:
    teams = sorted({label.team for label in found.labels.values()})
    if len(teams) > 1:
        found.problems.append(
            Problem(name, None, "labels name different submitters: " + ", ".join(teams) + " (one team per package)")
        )
    if not found.labels:
        found.problems.append(Problem(name, None, "no system in the package (task6/<label>/<label>.output.jsonl)"))
    return teams[0] if teams else "unknown"


def _systems(name: str, found: _Found, members: dict[str, bytes]) -> list[PackageSystem]:
    # at most MAX_SYSTEMS: labels are numbered 1..MAX_SYSTEMS and one label per number (checked above)
    out: list[PackageSystem] = []
    for n in sorted(found.systems):
        kinds, label = found.systems[n], found.labels[n]
        for kind, other in (("output.jsonl", "meta.yaml"), ("meta.yaml", "output.jsonl")):
            if kind in kinds and other not in kinds:
                found.problems.append(Problem(f"{name}!{kinds[kind]}", None, f"no {label.text}.{other} beside it"))
        if len(kinds) < 2:
            continue
        meta_display = f"{name}!{kinds['meta.yaml']}"
        checked = check_meta(members[kinds["meta.yaml"]], meta_display, label)
        found.problems += checked.problems
        found.notes += checked.notes
        if checked.data is not None:
            output_display = f"{name}!{kinds['output.jsonl']}"
            out.append(PackageSystem(label, members[kinds["output.jsonl"]], output_display, checked.data, meta_display))
    return out


def _report(name: str, found: _Found, members: dict[str, bytes], team: str) -> tuple[str, bytes]:
    stems = {label.report_stem for label in found.labels.values()} or {f"{team}_task6"}
    wanted = " or ".join(f"task6/{s}.technical_report.pdf" for s in sorted(stems))
    if not found.reports:
        found.problems.append(Problem(name, None, f"no technical report ({wanted})"))
        return "", b""
    contents = {members[r] for r in found.reports}
    if len(contents) > 1:
        found.problems.append(Problem(name, None, "more than one technical report: " + ", ".join(found.reports)))
        return "", b""
    member = found.reports[0]
    base = PurePosixPath(member).name
    data = members[member]
    if not data.startswith(b"%PDF-"):
        found.problems.append(Problem(f"{name}!{member}", None, "not a PDF file (no %PDF- header)"))
    if base not in {f"{s}.technical_report.pdf" for s in stems}:
        found.notes.append(f"{name}!{member}: note: technical report accepted; DCASE names it {wanted}")
    if len(found.reports) > 1:
        found.notes.append(f"{name}: note: {len(found.reports)} identical copies of the technical report")
    return base, data


# -- 3. outputs, and storing ----------------------------------------------------------------


def check_package(path: str | Path, gt: Any, limits: ArchiveLimits = ArchiveLimits()) -> CheckedPackage:
    """Every check a real ingest makes, scoring included; raises ``InputError``; writes nothing."""
    package = read_package(path, limits)
    problems: list[Problem] = []
    checked: list[CheckedSystem] = []
    for system in package.systems:
        report, result = score_bytes(system.output, gt, system.output_display)
        problems += report.problems
        if result is not None:
            windows = window_columns(report, result.per_query["qid"].tolist())  # the site's per-query explorer
            prepared = prepare_result(
                result, file_name=system.output_display, size=len(system.output), extra_columns=windows
            )
            checked.append(CheckedSystem(system, prepared, list(report.warnings)))
    if any(p.is_error for p in problems):
        raise InputError(problems + package.warnings, f"{package.path.name}: the outputs have errors; nothing stored")
    return CheckedPackage(package, checked)


def store_package(store: Any, checked: CheckedPackage, benchmark: str) -> list[StoredSystem]:
    """Store a checked package and all its systems in one transaction (every system or none)."""
    package = checked.package
    stored: list[StoredSystem] = []
    with store.write():
        package_id = store.add_package(
            team=package.team,
            sha256=package.sha256,
            file_name=package.path.name,
            report_name=package.report_name,
            report_sha256=package.report_sha256,
            report=package.report,
            notes=package.notes,
        )
        for item in checked.systems:
            meta = {**item.system.meta, "package": package.path.name, "report": package.report_name}
            added = store_prepared(
                store,
                item.prepared,
                team=package.team,
                system=item.system.label.text,
                benchmark=benchmark,
                system_meta=meta,
                package_id=package_id,
            )
            added.problems = item.warnings
            stored.append(StoredSystem(package.team, item.system.label.text, benchmark, added))
    return stored


def ingest(
    store: Any,
    path: str | Path,
    gt: Any,
    benchmark: str,
    limits: ArchiveLimits = ArchiveLimits(),
    check_only: bool = False,
) -> tuple[CheckedPackage, list[StoredSystem]]:
    """Check everything, then (unless ``check_only``) store every system in one transaction."""
    checked = check_package(path, gt, limits)
    if check_only:
        return checked, []
    return checked, store_package(store, checked, benchmark)


def confirmations(checked: CheckedPackage, stored: list[StoredSystem], benchmark: str) -> list[str]:
    """What ``leaderboard ingest`` prints on stdout: one line per system, as ``leaderboard add`` does."""
    if not stored:
        labels = ", ".join(item.system.label.text for item in checked.systems)
        return [
            f"{checked.package.path.name}: valid package ({labels}), scored on {benchmark}; nothing stored (check only)"
        ]
    return [confirmation(s.added, team=s.team, system=s.system, benchmark=s.benchmark) for s in stored]
