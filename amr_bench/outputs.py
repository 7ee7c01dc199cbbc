"""Output paths, checked before any work starts and written atomically.

Every command that writes a file or a folder goes through this module:

- :func:`check_output_file` / :func:`check_output_folder` run before the work: a folder given for
  a file (or a file for a folder), a missing parent folder, a folder that cannot be written, a
  special file (``/dev/full``, a FIFO...) and an output that is one of the command's inputs (the
  same file by any name) are refused with one line naming the option and the path (exit 2).
- :func:`atomic_writer` and the ``write_*_atomic`` helpers write a temporary file in the target's
  folder and ``os.replace`` it over the target only once it is complete; the temporary file is
  removed on any failure, so a reader never sees a half-written file and a failed run leaves the
  previous file as it was.
- :func:`output_group` makes the outputs of one command succeed or fail together: every file is
  written to its temporary file first, and only when all of them are complete are they renamed
  into place (a full disk while writing the second leaves the first output as it was too).
- **Symbolic links.** An output path that is a symbolic link is refused, with the link's target
  named (give the target's path to write there): a link is never replaced by a regular file and
  never written through. The same rule holds for the site folder of ``leaderboard render``.
- :func:`write_csv_atomic` writes spreadsheet-safe CSV: text cells that a spreadsheet would run as
  a formula (starting with ``= + - @``, a tab or a carriage return) are prefixed with ``'`` (the
  OWASP CSV-injection advice), and cells holding line breaks or quotes are quoted so every row
  reads back as written.
"""

from __future__ import annotations

import contextlib
import csv
import math
import os
import shutil
import stat
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import IO, Any, Literal

from amr_bench.errors import UsageError

STDOUT = "-"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _label(option: str, path: Path) -> str:
    return f"{option} {path}" if option else str(path)


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.realpath(a) == os.path.realpath(b)


def _refuse_inputs(path: Path, option: str, inputs: Iterable[tuple[str, str | Path | None]]) -> None:
    for what, value in inputs:
        if value is None or str(value) == STDOUT:
            continue
        if _same_file(path, Path(value)):
            raise UsageError(
                f"{_label(option, path)}: this is the {what} ({value}); writing there would destroy an input, "
                "choose another output path"
            )


def _special_kind(mode: int) -> str | None:
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISFIFO(mode):
        return "a named pipe"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if not stat.S_ISREG(mode) and not stat.S_ISDIR(mode):
        return "a special file"
    return None


def check_output_file(path: str | Path, option: str = "", inputs: Iterable[tuple[str, str | Path | None]] = ()) -> Path:
    """Refuse an output file that cannot or must not be written; returns it as a ``Path``.

    ``inputs`` are ``(what, path)`` pairs (``("submission", run.jsonl)``) the output must not be.
    """
    path = Path(path)
    label = _label(option, path)
    if str(path) == "" or path.name in ("", ".", ".."):
        raise UsageError(f"{label}: expected a file name")
    _refuse_symlink(path, option)
    try:
        st = os.stat(path)
    except FileNotFoundError:
        st = None
    except NotADirectoryError:
        raise UsageError(f"{label}: a part of this path is a file, not a folder") from None
    except OSError as exc:
        raise UsageError(f"{label}: cannot use this path ({exc.strerror})") from None
    if st is not None:
        if stat.S_ISDIR(st.st_mode):
            raise UsageError(f"{label}: is a folder; give a file name (e.g. {path / 'out'})")
        kind = _special_kind(st.st_mode)
        if kind is not None:
            raise UsageError(f"{label}: is {kind}, not a regular file; refusing to write to it")
        if not os.access(path, os.W_OK):
            raise UsageError(f"{label}: the file exists and is read-only")
    _refuse_inputs(path, option, inputs)
    parent = path.parent
    if not parent.exists():
        raise UsageError(f"{label}: the folder {parent} does not exist (create it first)")
    if not parent.is_dir():
        raise UsageError(f"{label}: {parent} is not a folder")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise UsageError(f"{label}: the folder {parent} is not writable")
    return path


def check_output_folder(
    path: str | Path, option: str = "", inputs: Iterable[tuple[str, str | Path | None]] = ()
) -> Path:
    """Refuse an output folder that is a file, lies under a file or cannot be created/written."""
    path = Path(path)
    label = _label(option, path)
    if str(path) == "":
        raise UsageError(f"{label}: expected a folder name")
    if path.exists() or path.is_symlink():
        try:
            mode = os.stat(path).st_mode
        except OSError as exc:
            raise UsageError(f"{label}: cannot use this path ({exc.strerror})") from None
        if not stat.S_ISDIR(mode):
            kind = _special_kind(mode) or "a file"
            raise UsageError(f"{label}: is {kind}, not a folder")
        if not os.access(path, os.W_OK | os.X_OK):
            raise UsageError(f"{label}: the folder is not writable")
        _refuse_inputs(path, option, inputs)
        return path
    ancestor = path.absolute().parent
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise UsageError(f"{label}: cannot create it, {ancestor} is not a folder")
    if not os.access(ancestor, os.W_OK | os.X_OK):
        raise UsageError(f"{label}: cannot create it, the folder {ancestor} is not writable")
    return path


def refuse_inputs_inside(folder: str | Path, option: str, inputs: Iterable[tuple[str, str | Path | None]]) -> None:
    """Refuse an output folder that holds (at any depth) or is one of the command's inputs: every
    file written into it, and the folder replaced as a whole, must leave the inputs as they were."""
    root = Path(os.path.realpath(folder))
    for what, value in inputs:
        if value is None or str(value) == STDOUT:
            continue
        target = Path(os.path.realpath(value))
        if target == root or root in target.parents:
            raise UsageError(
                f"{_label(option, Path(folder))}: holds the {what} ({value}); the output would replace it, "
                "choose another output folder"
            )


SITE_MARKERS = ("index.html", "results.json")


@contextlib.contextmanager
def staged_folder(path: str | Path, option: str = "--out") -> Iterator[Path]:
    """A new empty folder beside ``path`` to write a whole output folder into; when the block ends
    without error it takes ``path``'s place (the previous folder is removed), otherwise it is
    removed and ``path`` is left as it was: a full disk or an interrupt never leaves a half-written
    site. An existing ``path`` must be empty or an earlier site (holding ``index.html`` and
    ``results.json``): a folder of other files is refused, never replaced."""
    path = Path(path)
    if path.is_symlink():
        raise UsageError(f"{_label(option, path)}: is a symbolic link; give the folder itself")
    path = Path(os.path.abspath(path))  # "." or "site/..": the folder itself is renamed
    if path.exists():
        if not path.is_dir():
            raise UsageError(f"{_label(option, path)}: exists and is not a folder; the site needs a folder of its own")
        names = set(os.listdir(path))
        if names and not set(SITE_MARKERS) <= names:
            raise UsageError(
                f"{_label(option, path)}: holds files that are not an amr-bench site "
                f"(no {' and '.join(SITE_MARKERS)}); "
                "the site replaces its whole folder: choose a new or empty folder"
            )
    path.parent.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.", suffix=".new"))
    try:
        os.chmod(stage, 0o777 & ~_umask())
        yield stage
        old = None
        if path.exists():
            old = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.", suffix=".old"))
            os.rmdir(old)
            os.rename(path, old)
        try:
            os.rename(stage, path)
        except BaseException:
            if old is not None:
                os.rename(old, path)
            raise
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise


def _umask() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return umask


def _refuse_symlink(path: Path, option: str = "") -> None:
    if path.is_symlink():
        raise UsageError(
            f"{_label(option, path)}: is a symbolic link (to {os.readlink(path)}); outputs are never written "
            f"through a link nor replace one: give the target's path ({os.path.realpath(path)}) to write there"
        )


def _refuse_to_replace(path: Path) -> None:
    _refuse_symlink(path)
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return
    if stat.S_ISDIR(mode) or _special_kind(mode) is not None:
        raise UsageError(f"{path}: is not a regular file (it changed while running); refusing to replace it")


class OutputGroup:
    """Outputs written to temporary files and renamed into place together (see :func:`output_group`)."""

    def __init__(self) -> None:
        self._staged: list[tuple[Path, Path]] = []

    @contextlib.contextmanager
    def writer(
        self,
        path: str | Path,
        mode: Literal["w", "wb"] = "w",
        encoding: str = "utf-8",
        newline: str | None = None,
        errors: str = "strict",
    ) -> Iterator[IO[Any]]:
        """A file object writing to a temporary file beside ``path``, kept for the group's commit."""
        path = Path(path)
        _refuse_to_replace(path)
        fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        tmp = Path(tmp_name)
        self._staged.append((tmp, path))
        kwargs: dict[str, Any] = {} if "b" in mode else {"encoding": encoding, "newline": newline, "errors": errors}
        with os.fdopen(fd, mode, **kwargs) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        _keep_permissions(tmp, path)

    def commit(self) -> None:
        for _, path in self._staged:  # every check first: a refusal replaces nothing
            _refuse_to_replace(path)
        for tmp, path in self._staged:
            os.replace(tmp, path)
        self._staged = []

    def discard(self) -> None:
        for tmp, _ in self._staged:
            with contextlib.suppress(OSError):
                tmp.unlink(missing_ok=True)
        self._staged = []


@contextlib.contextmanager
def output_group() -> Iterator[OutputGroup]:
    """Write several outputs that succeed or fail together: each ``group.writer(path)`` writes a
    temporary file; when the block ends without error every output is renamed into place, otherwise
    (an error, a full disk, Ctrl-C, SIGTERM) every temporary file is removed and no output changes."""
    group = OutputGroup()
    try:
        yield group
        group.commit()
    except BaseException:
        group.discard()
        raise


@contextlib.contextmanager
def atomic_writer(
    path: str | Path,
    mode: Literal["w", "wb"] = "w",
    encoding: str = "utf-8",
    newline: str | None = None,
    errors: str = "strict",
    group: OutputGroup | None = None,
) -> Iterator[IO[Any]]:
    """A file object writing to a temporary file beside ``path``; ``path`` is replaced only when
    the block ends without error (the temporary file is removed otherwise). With ``group``, the
    replacement waits for the group's commit."""
    if group is not None:
        with group.writer(path, mode, encoding, newline, errors) as f:
            yield f
        return
    with output_group() as own, own.writer(path, mode, encoding, newline, errors) as f:
        yield f


def _keep_permissions(tmp: Path, target: Path) -> None:
    """The mode an ordinary ``open`` would give (the old file's, else 0o666 less the umask)."""
    try:
        mode = stat.S_IMODE(os.stat(target).st_mode)
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    os.chmod(tmp, mode)


def write_text_atomic(path: str | Path, text: str, group: OutputGroup | None = None) -> Path:
    with atomic_writer(path, "w", encoding="utf-8", group=group) as f:
        f.write(text)
    return Path(path)


def write_bytes_atomic(path: str | Path, data: bytes, group: OutputGroup | None = None) -> Path:
    with atomic_writer(path, "wb", group=group) as f:
        f.write(data)
    return Path(path)


def spreadsheet_safe(value: Any) -> Any:
    """A text cell a spreadsheet would evaluate (``=cmd()``, ``+1``, ``@SUM``...) prefixed with
    ``'``; numbers and other values unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def _cell(value: Any, float_format: str) -> Any:
    if isinstance(value, float):
        return float_format % value if math.isfinite(value) else ("" if math.isnan(value) else str(value))
    if hasattr(value, "item") and not isinstance(value, str):  # numpy scalar
        return _cell(value.item(), float_format)
    return spreadsheet_safe(value)


def write_csv_atomic(
    path: str | Path,
    header: Sequence[str],
    rows: Iterable[Sequence[Any]],
    float_format: str = "%.10g",
    group: OutputGroup | None = None,
) -> Path:
    """Write a CSV file atomically, every text cell spreadsheet-safe; rows end with CRLF (RFC 4180)
    so that a bare CR or LF inside a cell is quoted and reads back as written. Text that is not
    valid Unicode (a lone surrogate) is written escaped (``\\ud800``), never a crash."""
    with atomic_writer(path, "w", encoding="utf-8", newline="", errors="backslashreplace", group=group) as f:
        writer = csv.writer(f, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
        writer.writerow([spreadsheet_safe(h) for h in header])
        for row in rows:
            writer.writerow([_cell(v, float_format) for v in row])
    return Path(path)


def describe_os_error(exc: OSError) -> str:
    """``PATH: reason`` for an operating-system error (no traceback)."""
    where = exc.filename if exc.filename is not None else ""
    reason = exc.strerror or exc.__class__.__name__
    return f"{where}: {reason}" if where else reason


__all__ = [
    "SITE_MARKERS",
    "OutputGroup",
    "atomic_writer",
    "check_output_file",
    "check_output_folder",
    "describe_os_error",
    "output_group",
    "refuse_inputs_inside",
    "spreadsheet_safe",
    "staged_folder",
    "write_bytes_atomic",
    "write_csv_atomic",
    "write_text_atomic",
]
