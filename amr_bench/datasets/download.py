"""Downloading published features: resumable, verified, atomic, with safe tar extraction.

- :func:`download_file`: HTTP(S) with resume (``Range: bytes=N-`` on the ``.part`` file; a server
  that ignores the range restarts from zero), automatic retries that resume, sha256 and/or md5
  verification, and an atomic rename of ``.part`` to the final name only after verification (a
  broken download never leaves a file that looks complete). Progress bars via rich on a terminal.
- :func:`extract_tar`: every member is checked before anything is written (absolute paths, ``..``,
  links pointing outside, devices), then extracted with Python's ``filter="data"`` as a second
  line of defence.
- :func:`zenodo_files` / :func:`download_dataset`: list a Zenodo record's files (name, size, md5)
  from its API and fetch the ones the registry names (or all of them when the registry does not
  know the names), assemble split archives, extract, and copy the bundled ground truth beside the
  features so the folder is a complete dataset.

The Zenodo API base is ``registry.json``'s ``zenodo_api``, overridable with ``$AMR_BENCH_ZENODO_API``
or the ``api`` argument (the tests point it at a loopback server).
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tarfile
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from amr_bench.errors import AmrBenchError, InputError, Problem, UsageError
from amr_bench.hashing import file_digest

CHUNK = 1 << 16
ARCHIVE_SUFFIXES = (".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tar.xz")


class DownloadError(AmrBenchError):
    """A transfer failed or a file did not verify (exit 1); rerunning resumes where possible."""


@dataclass(frozen=True)
class RemoteFile:
    name: str
    url: str
    size: int | None = None
    md5: str | None = None
    sha256: str | None = None


@dataclass
class DownloadReport:
    root: Path
    downloaded: list[Path] = field(default_factory=list)
    skipped: list[Path] = field(default_factory=list)
    extracted: list[Path] = field(default_factory=list)
    ground_truth: list[Path] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def verify(path: Path, sha256: str | None = None, md5: str | None = None) -> str | None:
    """None if ``path`` matches every given checksum, else a message saying which failed."""
    for algo, want in (("sha256", sha256), ("md5", md5)):
        if want:
            got = file_digest(path, algo)
            if got.lower() != want.lower():
                return f"{algo} mismatch: expected {want}, got {got}"
    return None


def _progress(total: int | None, name: str, enabled: bool) -> Any:
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn

    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        transient=True,
        disable=not (enabled and sys.stderr.isatty()),
    )
    return bar


def _fetch_once(url: str, part: Path, timeout: float, show: bool) -> None:
    offset = part.stat().st_size if part.exists() else 0
    req = urllib.request.Request(url, headers={"User-Agent": "amr-bench"})
    if offset:
        req.add_header("Range", f"bytes={offset}-")
    try:
        resp = urllib.request.urlopen(req, timeout=timeout)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and offset:  # nothing left to fetch: the .part is complete (or wrong)
            return
        raise DownloadError(f"{url}: HTTP {exc.code} {exc.reason}") from None
    except (urllib.error.URLError, OSError) as exc:
        raise DownloadError(f"{url}: {getattr(exc, 'reason', exc)}") from None
    with resp:
        if offset and resp.status != 206:  # the server ignored the range: start again
            offset = 0
        length = resp.headers.get("Content-Length")
        expected = int(length) if length is not None else None
        received = 0
        total = None if expected is None else offset + expected
        with _progress(total, part.name, show) as bar, open(part, "ab" if offset else "wb") as f:
            task = bar.add_task(part.name.removesuffix(".part"), total=total, completed=offset)
            try:
                while True:
                    block = resp.read(CHUNK)
                    if not block:
                        break
                    f.write(block)
                    received += len(block)
                    bar.update(task, advance=len(block))
            except (OSError, ValueError) as exc:  # connection reset, IncompleteRead...
                raise DownloadError(
                    f"{url}: transfer interrupted after {offset + received} bytes ({exc.__class__.__name__})"
                ) from None
        if expected is not None and received < expected:
            raise DownloadError(f"{url}: transfer interrupted after {offset + received} of {offset + expected} bytes")


def download_file(
    url: str,
    dest: str | Path,
    sha256: str | None = None,
    md5: str | None = None,
    retries: int = 3,
    timeout: float = 60.0,
    progress: bool = True,
) -> bool:
    """Download ``url`` to ``dest``; returns False when ``dest`` already verified (skipped).

    Partial data lives in ``dest.part`` and is resumed by the next attempt (``retries`` extra
    attempts here, or a later call). On a checksum mismatch the partial file is deleted and
    :class:`DownloadError` raised; ``dest`` is only ever created by renaming a verified file.
    """
    dest = Path(dest)
    if dest.is_file() and (sha256 or md5) and verify(dest, sha256, md5) is None:
        return False
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    last: DownloadError | None = None
    for _ in range(retries + 1):
        try:
            _fetch_once(url, part, timeout, progress)
            break
        except DownloadError as exc:
            last = exc
    else:
        assert last is not None
        raise DownloadError(f"{last}; the partial file {part} is kept: rerun to resume")
    problem = verify(part, sha256, md5)
    if problem is not None:
        part.unlink(missing_ok=True)
        raise DownloadError(f"{url}: {problem}; the download was deleted, rerun to fetch it again")
    os.replace(part, dest)
    return True


# ---------------------------------------------------------------------------------------------
# Safe extraction


def unsafe_members(archive: tarfile.TarFile) -> list[str]:
    """Why each unsafe member of ``archive`` is unsafe (empty when all are safe)."""
    out = []
    for m in archive.getmembers():
        p = PurePosixPath(m.name)
        if not p.parts:
            out.append(f"{m.name!r}: empty name")
        elif p.is_absolute() or m.name.startswith("\\") or ":" in p.parts[0]:
            out.append(f"{m.name}: absolute path")
        elif ".." in p.parts:
            out.append(f"{m.name}: path leaves the destination ('..')")
        elif m.issym() or m.islnk():
            target = PurePosixPath(m.linkname)
            base = p.parent if m.issym() else PurePosixPath(".")
            if target.is_absolute() or ".." in (base / target).parts:
                out.append(f"{m.name}: link to {m.linkname} leaves the destination")
        elif not (m.isfile() or m.isdir()):
            out.append(f"{m.name}: device, fifo or other special file")
    return out


def extract_tar(archive_path: str | Path, dest: str | Path) -> list[Path]:
    """Extract ``archive_path`` into ``dest`` after checking every member; returns the files."""
    archive_path, dest = Path(archive_path), Path(dest)
    try:
        tf = tarfile.open(archive_path)  # noqa: SIM115 - closed by the `with tf:` below; an open failure gets its own message
    except (tarfile.TarError, OSError) as exc:
        raise InputError(
            [Problem(str(archive_path), None, f"not a readable tar archive ({exc})")], f"cannot extract {archive_path}"
        ) from None
    with tf:
        bad = unsafe_members(tf)
        if bad:
            raise InputError(
                [Problem(str(archive_path), None, f"unsafe member {b}") for b in bad],
                f"{archive_path}: refused to extract (nothing was written)",
            )
        dest.mkdir(parents=True, exist_ok=True)
        try:
            if hasattr(tarfile, "data_filter"):
                tf.extractall(dest, filter="data")
            else:  # pragma: no cover - Python without extraction filters; members checked above
                tf.extractall(dest)
        except tarfile.TarError as exc:
            raise InputError(
                [Problem(str(archive_path), None, f"extraction refused: {exc}")], f"cannot extract {archive_path}"
            ) from None
        return [dest / m.name for m in tf.getmembers() if m.isfile()]


# ---------------------------------------------------------------------------------------------
# Zenodo and whole datasets


def zenodo_api(api: str | None = None) -> str:
    from amr_bench.datasets.registry import registry

    return (api or os.environ.get("AMR_BENCH_ZENODO_API") or registry()["zenodo_api"]).rstrip("/")


def zenodo_files(record: str, api: str | None = None, timeout: float = 60.0) -> list[RemoteFile]:
    """The files of a Zenodo record (name, download URL, size, md5) from its API."""
    base = zenodo_api(api)
    url = f"{base}/records/{record}"
    try:
        with urllib.request.urlopen(
            urllib.request.Request(url, headers={"Accept": "application/json", "User-Agent": "amr-bench"}),
            timeout=timeout,
        ) as resp:
            data = json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        raise DownloadError(f"{url}: HTTP {exc.code} {exc.reason}") from None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise DownloadError(f"{url}: cannot read the record ({getattr(exc, 'reason', exc)})") from None
    files = data.get("files")
    if isinstance(files, dict):  # some API versions nest the list under "entries"
        files = files.get("entries")
    if not isinstance(files, list):
        raise DownloadError(f"{url}: the record lists no files")
    out = []
    for f in files:
        name = f.get("key") or f.get("filename")
        links = f.get("links") or {}
        link = links.get("content") or links.get("self") or f"{base}/records/{record}/files/{name}/content"
        checksum = str(f.get("checksum") or "")
        md5 = checksum.split(":", 1)[1] if checksum.startswith("md5:") else None
        out.append(RemoteFile(name, link, f.get("size"), md5))
    return out


def _assemble(folder: Path, prefix: str, into: str) -> Path | None:
    parts = sorted(p for p in folder.iterdir() if p.name.startswith(prefix) and not p.name.endswith(".part"))
    if not parts:
        return None
    target = folder / into
    tmp = folder / (into + ".tmp")
    with open(tmp, "wb") as out:
        for p in parts:
            with open(p, "rb") as f:
                shutil.copyfileobj(f, out, 1 << 20)
    os.replace(tmp, target)
    return target


def download_dataset(
    name: str, root: str | Path, api: str | None = None, progress: bool = True, extract: bool = True
) -> DownloadReport:
    """Fetch dataset ``name``'s features into ``root`` (see the module docstring)."""
    from amr_bench.datasets.registry import dataset_info

    info = dataset_info(name)
    if info is None:
        raise UsageError(f"unknown dataset {name!r}; run `amr-bench datasets list`")
    dl = info.get("download") or {}
    record = dl.get("zenodo_record")
    if not record:
        raise UsageError(f"{name}: {dl.get('files_note', 'no public download source is registered')}")
    root = Path(root).expanduser()
    cache = root / ".downloads"
    report = DownloadReport(root)
    for f in _chosen_files(record, zenodo_files(record, api), dl.get("files"), report):
        dest = cache / PurePosixPath(f.name).name
        fetched = download_file(f.url, dest, sha256=f.sha256, md5=f.md5, progress=progress)
        (report.downloaded if fetched else report.skipped).append(dest)
        if not (f.md5 or f.sha256):
            report.notes.append(f"{f.name}: the record gives no checksum; not verified")
    archives = [p for p in report.downloaded + report.skipped if p.name.endswith(ARCHIVE_SUFFIXES)]
    assemble = dl.get("assemble")
    if assemble:
        joined = _assemble(cache, assemble["parts_prefix"], assemble["into"])
        if joined is not None:
            archives.append(joined)
            report.notes.append(f"assembled {joined.name} from its parts")
    if extract:
        for a in archives:
            report.extracted.extend(extract_tar(a, root))
    _copy_ground_truth(name, root, report)
    _note_missing_feature_folders(root, report)
    return report


def _chosen_files(
    record: str, remote: list[RemoteFile], wanted: list[str] | None, report: DownloadReport
) -> list[RemoteFile]:
    """The registry's files of the record (all of them, with a note, when the registry names none)."""
    if not wanted:
        report.notes.append(
            f"the registry does not name the files of record {record}: fetched all {len(remote)} listed by the record"
        )
        return remote
    by_name = {f.name: f for f in remote}
    missing = [w for w in wanted if w not in by_name]
    if missing:
        raise DownloadError(
            f"Zenodo record {record} does not list {', '.join(missing)}; it lists: "
            f"{', '.join(sorted(by_name)) or 'nothing'}"
        )
    return [by_name[w] for w in wanted]


def _copy_ground_truth(name: str, root: Path, report: DownloadReport) -> None:
    """The bundled ground truth of every split as ``ROOT/<split>.jsonl``, never over an existing file."""
    from amr_bench.datasets.registry import splits

    for entry in splits():
        if entry.dataset == name:
            target = root / f"{entry.split}.jsonl"
            if not target.exists():
                shutil.copyfile(entry.path, target)
                report.ground_truth.append(target)


def _note_missing_feature_folders(root: Path, report: DownloadReport) -> None:
    """A note for each of ``clap/``, ``clap_text/`` not where the layout expects it (and where it is)."""
    for sub in ("clap", "clap_text"):
        if not (root / sub).is_dir():
            found = sorted(str(p.relative_to(root)) for p in root.rglob(sub) if p.is_dir())
            report.notes.append(
                f"{root / sub} does not exist"
                + (f"; found {', '.join(found)}: move it to {root / sub}" if found else "")
            )
