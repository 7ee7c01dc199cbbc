"""File and byte digests: the one place amr-bench hashes data (result signatures, pins, packages)."""

from __future__ import annotations

import hashlib
from pathlib import Path


def file_digest(path: str | Path, algo: str = "sha256") -> str:
    """The hex digest of a file's bytes, read in blocks (constant memory)."""
    digest = hashlib.new(algo)
    with open(path, "rb") as f:
        while block := f.read(1 << 20):  # hashlib.file_digest needs Python 3.11; we support 3.10
            digest.update(block)
    return digest.hexdigest()


def sha256_file(path: str | Path) -> str:
    return file_digest(path, "sha256")


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
