"""A cache of parsed bundled ground truths, as arrays, keyed by the sha256 of the file's bytes.

A bundled split is parsed and checked once; later runs load its arrays instead (no JSON parsing,
no schema check). The cache lives in ``$AMR_BENCH_CACHE`` if set, else
``$XDG_CACHE_HOME/amr-bench`` (default ``~/.cache/amr-bench``); ``AMR_BENCH_CACHE=off`` turns
it off, and so does a platform without ``O_NOFOLLOW`` and ``dir_fd`` (Windows). An unusable cache
only costs the parse. The cache is treated as hostile:

- **Where.** The folder is created with mode 0700; an existing one is used only when it is a real
  folder (not a symbolic link) owned by the user and not writable by group or others. Otherwise
  the cache is not used, with a one-line note.
- **Writing.** An entry is written to a temporary file with a random name created with
  ``O_CREAT | O_EXCL | O_NOFOLLOW`` (mode 0600) inside the opened folder, then renamed over the
  entry's name: a planted file or symbolic link is never written through, only replaced.
- **Reading.** An entry is opened with ``O_NOFOLLOW``, must be a regular file owned by the user
  and at most :func:`max_entry_bytes` long, and carries an HMAC-SHA256 of its content and of the
  ground truth's sha256 under a random per-user key (``key``, mode 0600, in the same folder): an
  entry edited by hand, copied from another ground truth or written by anyone without the key is
  refused. The arrays are then read without pickles, each member's declared shape checked against
  its stored size before anything is allocated, and their shapes checked against each other.
- **Anything unusable** (damaged, foreign, edited, oversized, the wrong kind of file) is ignored
  with a one-line note on stderr and rebuilt from the ground truth; never a traceback.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import io
import json
import os
import secrets
import stat
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from amr_bench.datasets.npzio import npz_bytes, read_npy_header
from amr_bench.errors import Problem
from amr_bench.ragged import RaggedWindows
from amr_bench.terminal import note

FORMAT = "amr-bench-gt-cache-2"
MAGIC = b"AMRGTC2\n"
_MAC_HEX = 64
_KEY_NAME = "key"
_KEY_BYTES = 32
_ARRAYS: dict[str, np.dtype[Any]] = {
    "meta": np.dtype(np.uint8),
    "durations": np.dtype(np.float64),
    "start": np.dtype(np.float64),
    "end": np.dtype(np.float64),
    "score": np.dtype(np.float64),
    "offsets": np.dtype(np.int64),
    "has_score": np.dtype(np.bool_),
    "lines": np.dtype(np.int64),
}
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_DIRECTORY = getattr(os, "O_DIRECTORY", 0)
_BINARY = getattr(os, "O_BINARY", 0)


class Unusable(Exception):
    """Why a cache folder or entry is not used (one line, for the note)."""


def cache_dir() -> Path | None:
    """The cache folder, or None when caching is turned off."""
    env = os.environ.get("AMR_BENCH_CACHE")
    if env is not None:
        return None if env.strip().lower() in ("", "0", "off", "no", "false") else Path(env).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "amr-bench"


def entry_name(sha256: str) -> str:
    return f"gt-{sha256}.cache"


def max_entry_bytes(source_bytes: int) -> int:
    """The largest entry accepted for a ground truth of ``source_bytes`` bytes: its arrays take at
    most a few times the JSON text they come from (every number is at least a digit and a comma)."""
    return 16 * source_bytes + (1 << 20)


def _owned_by_user(st: os.stat_result) -> bool:
    getuid = getattr(os, "getuid", None)
    return getuid is None or st.st_uid == getuid()


@contextlib.contextmanager
def _open_folder(create: bool) -> Iterator[int | None]:
    """A file descriptor of the private cache folder (None when caching is off or the folder is
    missing and ``create`` is false); raises ``Unusable`` for a folder that is not private."""
    folder = cache_dir()
    if folder is None or os.open not in os.supports_dir_fd or not _NOFOLLOW:
        yield None  # off, or a platform without safe opening inside a folder: no cache at all
        return
    if create:
        try:
            folder.parent.mkdir(parents=True, exist_ok=True)
            os.mkdir(folder, 0o700)
        except FileExistsError:
            pass
        except OSError as exc:
            raise Unusable(f"cannot create the cache folder {folder} ({exc.strerror})") from None
    try:
        fd = os.open(folder, os.O_RDONLY | _DIRECTORY | _NOFOLLOW)
    except FileNotFoundError:
        if create:
            raise Unusable(f"the cache folder {folder} vanished") from None
        yield None
        return
    except OSError as exc:
        raise Unusable(f"cannot open the cache folder {folder} ({exc.strerror or 'a symbolic link?'})") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISDIR(st.st_mode):
            raise Unusable(f"the cache folder {folder} is not a folder")
        if not _owned_by_user(st):
            raise Unusable(f"the cache folder {folder} belongs to another user (uid {st.st_uid})")
        if st.st_mode & 0o022:
            raise Unusable(
                f"the cache folder {folder} is writable by other users (mode {stat.S_IMODE(st.st_mode):o}); "
                "use a private folder (chmod 700) or set AMR_BENCH_CACHE"
            )
        yield fd
    finally:
        os.close(fd)


def _read_private(dir_fd: int, name: str, limit: int) -> bytes | None:
    """The bytes of the regular file ``name`` in the folder, owned by the user, at most ``limit``
    bytes; None when absent; ``Unusable`` for anything else. Symbolic links are not followed."""
    try:
        fd = os.open(name, os.O_RDONLY | _NOFOLLOW | _BINARY | getattr(os, "O_NONBLOCK", 0), dir_fd=dir_fd)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise Unusable(f"{name}: cannot be opened ({exc.strerror or 'a symbolic link?'})") from None
    with os.fdopen(fd, "rb") as f:
        st = os.fstat(f.fileno())
        if not stat.S_ISREG(st.st_mode):
            raise Unusable(f"{name}: is not a regular file")
        if not _owned_by_user(st):
            raise Unusable(f"{name}: belongs to another user")
        if st.st_size > limit:
            raise Unusable(f"{name}: is {st.st_size} bytes, more than the {limit} an entry of this file can take")
        data = f.read(limit + 1)
    if len(data) > limit:
        raise Unusable(f"{name}: grew past {limit} bytes while read")
    return data


def _write_private(dir_fd: int, name: str, data: bytes) -> None:
    """Write ``data`` to a new temporary file (random name, exclusive, mode 0600, no symbolic link
    followed) in the folder and rename it over ``name``; the temporary file is removed on failure."""
    tmp = f".{name}.{secrets.token_hex(8)}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _BINARY, 0o600, dir_fd=dir_fd)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp, dir_fd=dir_fd)
        raise


def _key(dir_fd: int, create: bool) -> bytes | None:
    """The per-user HMAC key (made on first use when ``create``); None when there is none yet."""
    try:
        key = _read_private(dir_fd, _KEY_NAME, _KEY_BYTES)
    except Unusable:
        key = b""
    if key is not None and len(key) == _KEY_BYTES:
        st = os.stat(_KEY_NAME, dir_fd=dir_fd, follow_symlinks=False)
        if not st.st_mode & 0o077:
            return key
    if not create:
        return None
    key = secrets.token_bytes(_KEY_BYTES)
    _write_private(dir_fd, _KEY_NAME, key)  # replaces a damaged or too open key: old entries are rebuilt
    return key


def _mac(key: bytes, sha256: str, payload: bytes) -> bytes:
    message = FORMAT.encode() + b"\0" + sha256.encode() + b"\0" + payload
    return hmac.new(key, message, hashlib.sha256).hexdigest().encode()


def load(sha256: str, path: Path) -> dict[str, Any] | None:
    """The cached fields of the ground truth whose bytes hash to ``sha256`` (None if absent or
    unusable; an unusable entry is noted on stderr)."""
    name = entry_name(sha256)
    try:
        size = os.stat(path).st_size
        with _open_folder(create=False) as dir_fd:
            if dir_fd is None:
                return None
            data = _read_private(dir_fd, name, max_entry_bytes(size))
            if data is None:
                return None
            key = _key(dir_fd, create=False)
            if key is None:
                raise Unusable(f"{name}: no key to check it with")
            return _decode(data, key, sha256, str(path))
    except Unusable as exc:
        note(f"note: ground-truth cache: {exc}; parsing the ground truth instead")
    except OSError as exc:
        note(f"note: ground-truth cache: {name}: {exc.strerror or exc}; parsing the ground truth instead")
    return None


def _decode(data: bytes, key: bytes, sha256: str, name: str) -> dict[str, Any]:
    head = len(MAGIC) + _MAC_HEX + 1
    if len(data) < head or not data.startswith(MAGIC) or data[head - 1 : head] != b"\n":
        raise Unusable(f"{entry_name(sha256)}: not a cache entry of this version")
    mac, payload = data[len(MAGIC) : head - 1], data[head:]
    if not hmac.compare_digest(mac, _mac(key, sha256, payload)):
        raise Unusable(f"{entry_name(sha256)}: its check code does not match (edited, damaged or not this file's)")
    try:
        a = _read_arrays(payload)
        meta = json.loads(bytes(a["meta"]).decode("utf-8"))
        return _fields(meta, a, sha256, name)
    except Unusable:
        raise
    except (ValueError, KeyError, TypeError, IndexError, OSError, zipfile.BadZipFile, RecursionError) as exc:
        raise Unusable(f"{entry_name(sha256)}: cannot be read ({type(exc).__name__})") from None


def _read_arrays(payload: bytes) -> dict[str, np.ndarray]:
    """The arrays of an ``.npz`` payload: stored (not compressed) members only, each declared
    shape checked against the member's size before it is read, no pickles."""
    out: dict[str, np.ndarray] = {}
    with zipfile.ZipFile(io.BytesIO(payload)) as z:
        infos = {i.filename: i for i in z.infolist()}
        if set(infos) != {f"{k}.npy" for k in _ARRAYS}:
            raise Unusable("an entry with unexpected members")
        for key, dtype in _ARRAYS.items():
            info = infos[f"{key}.npy"]
            if info.compress_type != zipfile.ZIP_STORED or info.file_size > len(payload):
                raise Unusable(f"member {key} is compressed or larger than the entry")
            with z.open(info) as member:
                header = read_npy_header(member)
                if header is None:
                    raise Unusable(f"member {key} has an unknown format version")
                shape, fortran, found = header
                if found != dtype or len(shape) != 1 or fortran:
                    raise Unusable(f"member {key} is not a vector of {dtype}")
                if shape[0] * dtype.itemsize > info.file_size:
                    raise Unusable(f"member {key} declares more data than it holds")
                raw = member.read(shape[0] * dtype.itemsize)
            if len(raw) != shape[0] * dtype.itemsize:
                raise Unusable(f"member {key} is truncated")
            out[key] = np.frombuffer(raw, dtype=dtype).copy()
    return out


def _fields(meta: Any, a: dict[str, np.ndarray], sha256: str, name: str) -> dict[str, Any]:
    if not isinstance(meta, dict) or meta.get("format") != FORMAT or meta.get("sha256") != sha256:
        raise Unusable(f"{entry_name(sha256)}: names another ground truth or format")
    qids, queries, vids, problems = meta["qids"], meta["queries"], meta["vids"], meta["problems"]
    n = len(qids)
    offsets = a["offsets"]
    n_windows = len(a["start"])
    if not (
        isinstance(qids, list)
        and isinstance(queries, list)
        and isinstance(vids, list)
        and isinstance(problems, list)
        and isinstance(meta["has_windows"], bool)
        and len(queries) == n == len(vids) == len(a["durations"]) == len(a["lines"]) == len(offsets) - 1
        and len(a["end"]) == n_windows == len(a["score"]) == len(a["has_score"])
        and offsets[0] == 0
        and offsets[-1] == n_windows
        and bool(np.all(np.diff(offsets) >= 0))
        and all(isinstance(q, (str, int)) and not isinstance(q, bool) for q in qids)
        and all(isinstance(q, str) for q in queries)
        and all(isinstance(v, str) for v in vids)
    ):
        raise Unusable(f"{entry_name(sha256)}: its arrays do not fit together")
    return {
        "qids": qids,
        "lines": a["lines"].tolist(),
        "queries": queries,
        "vids": vids,
        "durations": a["durations"],
        "windows": RaggedWindows(a["start"], a["end"], a["score"], offsets, a["has_score"]),
        "has_windows": meta["has_windows"],
        "problems": [Problem(name, line, message, severity, code) for line, message, severity, code in problems],
    }


def store(sha256: str, fields: dict[str, Any]) -> None:
    """Write an entry (see the module's text); a cache that cannot be written is noted, never fatal."""
    w: RaggedWindows = fields["windows"]
    meta = {
        "format": FORMAT,
        "sha256": sha256,
        "qids": fields["qids"],
        "queries": fields["queries"],
        "vids": fields["vids"],
        "has_windows": fields["has_windows"],
        "problems": [[p.line, p.message, p.severity, p.code] for p in fields["problems"]],
    }
    arrays = {
        "meta": np.frombuffer(json.dumps(meta).encode("utf-8"), dtype=np.uint8),
        "durations": fields["durations"],
        "start": w.start,
        "end": w.end,
        "score": w.score,
        "offsets": w.offsets,
        "has_score": w.has_score,
        "lines": np.asarray(fields["lines"], dtype=np.int64),
    }
    try:
        contiguous: dict[str, Any] = {k: np.ascontiguousarray(v, dtype=_ARRAYS[k]) for k, v in arrays.items()}
        payload = npz_bytes(contiguous)
        with _open_folder(create=True) as dir_fd:
            if dir_fd is None:
                return
            key = _key(dir_fd, create=True)
            assert key is not None
            _write_private(dir_fd, entry_name(sha256), MAGIC + _mac(key, sha256, payload) + b"\n" + payload)
    except Unusable as exc:
        note(f"note: ground-truth cache not written: {exc}")
    except (OSError, ValueError, TypeError) as exc:
        note(f"note: ground-truth cache not written: {getattr(exc, 'strerror', None) or exc}")
