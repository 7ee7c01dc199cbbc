"""Deterministic ``.npz`` writing and memory-mapped ``.npz`` reading.

``numpy.savez`` stamps the current time into every zip member, so two runs never give the same
bytes. :func:`write_npz` writes the same container (a zip of ``.npy`` members, readable by
``numpy.load``) with a fixed timestamp, members in the order given, stored uncompressed, and
renames it into place only when complete (a crash never leaves a file that looks finished).

:func:`read_npz_member` maps a stored (uncompressed) member straight from the file with
``numpy.memmap``; compressed members are read into memory instead.
"""

from __future__ import annotations

import io
import os
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any

import numpy as np

_FIXED_DATE = (1980, 1, 1, 0, 0, 0)


def npz_bytes(arrays: Mapping[str, np.ndarray]) -> bytes:
    """The bytes of an ``.npz`` holding ``arrays`` (keys in the given order), without timestamps."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as zf:
        for key, value in arrays.items():
            member = io.BytesIO()
            np.lib.format.write_array(member, np.ascontiguousarray(value), allow_pickle=False)
            info = zipfile.ZipInfo(f"{key}.npy", date_time=_FIXED_DATE)
            info.compress_type = zipfile.ZIP_STORED
            info.external_attr = 0o644 << 16
            zf.writestr(info, member.getvalue())
    return buffer.getvalue()


def write_npz(path: str | Path, arrays: Mapping[str, np.ndarray]) -> Path:
    """Write ``arrays`` to ``path`` atomically and reproducibly (same arrays, same bytes)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(npz_bytes(arrays))
    os.replace(tmp, path)
    return path


def read_npz_member(path: str | Path, key: str, mmap: bool = True) -> np.ndarray:
    """Read array ``key`` of an ``.npz`` file; memory-mapped when the member is stored.

    Raises ``KeyError`` (listing the keys present) when ``key`` is absent and ``ValueError`` when
    the file is not a readable ``.npz``.
    """
    path = Path(path)
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise ValueError(f"not a readable .npz file ({exc})") from None
    with zf:
        names = zf.namelist()
        member = f"{key}.npy"
        if member not in names:
            present = ", ".join(n.removesuffix(".npy") for n in names) or "none"
            raise KeyError(f"no array {key!r} (arrays present: {present})")
        info = zf.getinfo(member)
        if mmap and info.compress_type == zipfile.ZIP_STORED:
            mapped = _memmap_stored(path, info)
            if mapped is not None:
                return mapped
        with zf.open(member) as f:
            return np.lib.format.read_array(f, allow_pickle=False)


def read_npy_header(f: IO[bytes]) -> tuple[tuple[int, ...], bool, np.dtype[Any]] | None:
    """``(shape, fortran_order, dtype)`` from the header of a ``.npy`` stream (format 1.0 or 2.0),
    leaving ``f`` at the first data byte; None for any other format version."""
    version = np.lib.format.read_magic(f)
    if version == (1, 0):
        return np.lib.format.read_array_header_1_0(f)
    if version == (2, 0):
        return np.lib.format.read_array_header_2_0(f)
    return None


def _memmap_stored(path: Path, info: zipfile.ZipInfo) -> np.ndarray | None:
    with open(path, "rb") as f:
        f.seek(info.header_offset)
        local = f.read(30)
        if local[:4] != b"PK\x03\x04":
            return None
        name_len = int.from_bytes(local[26:28], "little")
        extra_len = int.from_bytes(local[28:30], "little")
        f.seek(info.header_offset + 30 + name_len + extra_len)
        header = read_npy_header(f)
        if header is None:
            return None
        shape, fortran, dtype = header
        if dtype.hasobject:
            return None
        offset = f.tell()
    if int(np.prod(shape)) == 0:
        return np.empty(shape, dtype=dtype)
    return np.memmap(path, dtype=dtype, mode="r", offset=offset, shape=shape, order="F" if fortran else "C")
