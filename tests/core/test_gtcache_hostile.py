"""The ground-truth cache treated as hostile: planted links, edited, malformed and inflated entries."""

from __future__ import annotations

import io
import json
import os
import re
import stat
import zipfile

import numpy as np
import pytest

from amr_bench import gtcache
from amr_bench.groundtruth import load_ground_truth
from amr_bench.scoring import score
from tests.cli.test_fast_path import REFERENCE_RUN, _same_ground_truth

pytestmark = pytest.mark.skipif(not hasattr(os, "O_NOFOLLOW"), reason="POSIX file semantics")


@pytest.fixture
def cache(tmp_path, monkeypatch):
    folder = tmp_path / "cache"
    monkeypatch.setenv("AMR_BENCH_CACHE", str(folder))
    return folder


def _entry(folder):
    (entry,) = folder.glob("gt-*.cache")
    return entry


def test_the_cache_folder_and_its_files_are_private(cache):
    load_ground_truth("castella/val")
    assert stat.S_IMODE(cache.stat().st_mode) == 0o700
    for f in cache.iterdir():
        assert stat.S_IMODE(f.stat().st_mode) == 0o600, f.name


def test_a_planted_symlink_is_replaced_never_written_through(cache, tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    cache.mkdir(mode=0o700)
    sha = load_ground_truth("castella/val").sha256
    for f in cache.iterdir():
        f.unlink()
    (cache / gtcache.entry_name(sha)).symlink_to(victim)
    (cache / "key").symlink_to(victim)
    load_ground_truth("castella/val")
    assert victim.read_text() == "precious"
    assert not (cache / gtcache.entry_name(sha)).is_symlink()
    assert load_ground_truth("castella/val").sha256 == sha


def test_a_folder_other_users_can_write_is_not_used(cache, capfd):
    cache.mkdir()
    cache.chmod(0o777)
    gt = load_ground_truth("castella/val")
    assert list(cache.iterdir()) == []
    err = capfd.readouterr().err
    assert "writable by other users" in err and "Traceback" not in err
    assert len(gt) > 0


def test_a_symlinked_cache_folder_is_not_used(tmp_path, monkeypatch, capfd):
    real = tmp_path / "real"
    real.mkdir(mode=0o700)
    (tmp_path / "link").symlink_to(real)
    monkeypatch.setenv("AMR_BENCH_CACHE", str(tmp_path / "link"))
    load_ground_truth("castella/val")
    assert list(real.iterdir()) == []
    assert "cache" in capfd.readouterr().err


def _rewrite_payload(entry, change):
    """Edit the arrays of an entry and write it back with its old check code (what a hand edit does)."""
    data = entry.read_bytes()
    head = len(gtcache.MAGIC) + 65
    arrays = dict(np.load(io.BytesIO(data[head:]), allow_pickle=False))
    change(arrays)
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    entry.write_bytes(data[:head] + buf.getvalue())


def test_an_edited_entry_is_refused_and_the_scores_stay_genuine(cache, capfd):
    parsed = load_ground_truth("castella/val")
    genuine = score(REFERENCE_RUN, parsed).to_dict()

    def shift(arrays):
        arrays["start"] = arrays["start"] + 1.0
        arrays["end"] = arrays["end"] + 1.0

    _rewrite_payload(_entry(cache), shift)
    capfd.readouterr()
    again = load_ground_truth("castella/val")
    assert "check code does not match" in capfd.readouterr().err
    assert score(REFERENCE_RUN, again).to_dict() == genuine
    _same_ground_truth(parsed, again)


def test_an_entry_edited_together_with_its_check_code_needs_the_key(cache, capfd):
    load_ground_truth("castella/val")
    entry = _entry(cache)
    data = entry.read_bytes()
    head = len(gtcache.MAGIC) + 65
    payload = data[head:]
    forged = gtcache._mac(b"\0" * 32, re.search(r"gt-(\w+)", entry.name).group(1), payload)
    entry.write_bytes(gtcache.MAGIC + forged + b"\n" + payload)
    capfd.readouterr()
    load_ground_truth("castella/val")
    assert "check code does not match" in capfd.readouterr().err


def _meta_with(arrays, **changes):
    meta = json.loads(bytes(arrays["meta"]).decode()) | changes
    return np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)


def _forge(cache, payload):
    """An entry with a valid check code around ``payload`` (the worst case: the key leaked)."""
    entry = _entry(cache)
    sha = re.search(r"gt-(\w+)", entry.name).group(1)
    key = (cache / "key").read_bytes()
    entry.write_bytes(gtcache.MAGIC + gtcache._mac(key, sha, payload) + b"\n" + payload)


@pytest.mark.parametrize(
    "make",
    [
        lambda a: a.pop("meta"),
        lambda a: a.update(meta=np.frombuffer(b'{"format": 1}', dtype=np.uint8)),
        lambda a: a.update(meta=np.frombuffer(b"[not json", dtype=np.uint8)),
        lambda a: a.update(offsets=a["offsets"][:-1]),
        lambda a: a.update(start=a["start"].astype(np.float32)),
        lambda a: a.update(lines=a["lines"].reshape(1, -1)),
        lambda a: a.update(meta=_meta_with(a, qids=[{"not": "hashable"}] * len(a["lines"]))),
        lambda a: a.update(meta=_meta_with(a, problems=[[1, "three", "fields"]])),
    ],
    ids=["missing-member", "wrong-meta", "bad-json", "short-offsets", "wrong-dtype", "2d", "qid-objects", "problems"],
)
def test_a_malformed_entry_is_a_note_and_a_rebuild_never_a_traceback(cache, capfd, make):
    parsed = load_ground_truth("castella/val")
    head = len(gtcache.MAGIC) + 65
    arrays = dict(np.load(io.BytesIO(_entry(cache).read_bytes()[head:]), allow_pickle=False))
    make(arrays)
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    _forge(cache, buf.getvalue())
    capfd.readouterr()
    _same_ground_truth(parsed, load_ground_truth("castella/val"))
    err = capfd.readouterr().err
    assert "ground-truth cache" in err and "Traceback" not in err
    assert gtcache.load(parsed.sha256, parsed.path) is not None  # rebuilt


def test_a_small_entry_that_would_inflate_is_refused_before_allocating(cache, capfd):
    parsed = load_ground_truth("castella/val")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name in gtcache._ARRAYS:
            header = io.BytesIO()
            np.lib.format.write_array_header_1_0(
                header, {"descr": gtcache._ARRAYS[name].str, "fortran_order": False, "shape": (1 << 40,)}
            )
            z.writestr(f"{name}.npy", header.getvalue() + b"\0" * 4096)
    _forge(cache, buf.getvalue())
    capfd.readouterr()
    _same_ground_truth(parsed, load_ground_truth("castella/val"))
    assert "compressed or larger" in capfd.readouterr().err


def test_a_declared_shape_larger_than_the_member_is_refused(cache, capfd):
    parsed = load_ground_truth("castella/val")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
        for name in gtcache._ARRAYS:
            header = io.BytesIO()
            np.lib.format.write_array_header_1_0(
                header, {"descr": gtcache._ARRAYS[name].str, "fortran_order": False, "shape": (1 << 40,)}
            )
            z.writestr(f"{name}.npy", header.getvalue() + b"\0" * 64)
    _forge(cache, buf.getvalue())
    capfd.readouterr()
    _same_ground_truth(parsed, load_ground_truth("castella/val"))
    assert "declares more data" in capfd.readouterr().err


def test_an_oversized_entry_is_not_read(cache, capfd):
    parsed = load_ground_truth("castella/val")
    with open(_entry(cache), "ab") as f:
        f.truncate(gtcache.max_entry_bytes(parsed.path.stat().st_size) + 1)
    capfd.readouterr()
    _same_ground_truth(parsed, load_ground_truth("castella/val"))
    assert "more than the" in capfd.readouterr().err


def test_an_entry_that_is_a_fifo_does_not_hang(cache, capfd):
    parsed = load_ground_truth("castella/val")
    entry = _entry(cache)
    entry.unlink()
    os.mkfifo(entry)
    _same_ground_truth(parsed, load_ground_truth("castella/val"))
    assert "not a regular file" in capfd.readouterr().err
