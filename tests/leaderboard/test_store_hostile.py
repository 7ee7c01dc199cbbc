"""The store and the site against an unlucky operator: results in the write-ahead log, outputs that
are inputs, a full disk in the middle of a render, colliding file names."""

from __future__ import annotations

import errno
import hashlib
import sqlite3
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from amr_bench.cli import app
from amr_bench.errors import AmrBenchError
from amr_bench.leaderboard import render as render_mod
from amr_bench.leaderboard import store_files
from amr_bench.leaderboard.demo import STORE_NAME, prepare_output
from amr_bench.leaderboard.ranking import RankSettings
from amr_bench.leaderboard.store import Store
from tests.helpers.cli import GT_LINES, write_jsonl
from tests.leaderboard.test_render import build_board
from tests.leaderboard.test_store import _add


def _invoke(args: list[object]) -> tuple[int, str]:
    res = CliRunner().invoke(app, [str(a) for a in args])
    assert "Traceback" not in res.output, res.output
    assert res.exception is None or isinstance(res.exception, SystemExit), repr(res.exception)
    return res.exit_code, res.output


def _store_with_results_in_the_wal(db: Path) -> Store:
    """A writer that committed two results and has not checkpointed them (still running, or killed)."""
    st = Store(db)
    st.db.execute("PRAGMA wal_autocheckpoint = 0")
    _add(st, "T", "s1", "a" * 64, np.ones(3))
    _add(st, "T", "s2", "b" * 64, np.zeros(3))
    assert Path(f"{db}-wal").stat().st_size > 0
    return st


def test_demo_force_backup_keeps_the_results_still_in_the_wal(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    out.mkdir()
    writer = _store_with_results_in_the_wal(out / STORE_NAME)
    try:
        prepare_output(out, force=True, echo=lambda _: None)
    finally:
        writer.close()
    (backup,) = out.glob(f"{STORE_NAME}.backup-*")
    assert not list(out.glob("*-wal*")) or not Path(f"{backup}-wal").exists()
    con = sqlite3.connect(f"file:{backup}?immutable=1", uri=True)  # the file alone holds everything
    try:
        assert con.execute("SELECT COUNT(*) FROM submissions").fetchone()[0] == 2
    finally:
        con.close()


def test_the_read_only_fallback_never_ignores_committed_wal_content(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "b.sqlite"
    writer = _store_with_results_in_the_wal(db)
    real_connect = sqlite3.connect

    def no_shm(database: str, *args: object, **kw: object) -> sqlite3.Connection:
        if "immutable=1" not in str(database):  # a folder the reader cannot write, to mode=ro on a WAL store
            raise sqlite3.OperationalError("unable to open database file")
        return real_connect(database, *args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(store_files.sqlite3, "connect", no_shm)
    try:
        with pytest.raises(store_files.StoreError, match=r"write-ahead log .* holds committed results"):
            Store(db, readonly=True)
    finally:
        writer.close()  # the last writer checkpoints: the log is folded into the file
    with Store(db, readonly=True) as st:
        assert st.count_submissions() == 2


@pytest.mark.parametrize("inside", ["results.json", "index.html", "csv/x.csv"])
@pytest.mark.parametrize("which", ["--db", "--gt"])
def test_render_never_writes_over_its_own_inputs(tmp_path: Path, inside: str, which: str) -> None:
    site = tmp_path / "site"
    (site / "csv").mkdir(parents=True)
    db = build_board(site / inside if which == "--db" else tmp_path / "b.sqlite")
    gt = write_jsonl(site / inside if which == "--gt" else tmp_path / "gt.jsonl", GT_LINES)
    before = {p: p.read_bytes() for p in (db, gt)}
    code, out = _invoke(["leaderboard", "render", "--db", db, "--gt", gt, "--out", site, "--resamples", 200])
    assert code == 2 and "holds the" in out, out
    assert {p: p.read_bytes() for p in (db, gt)} == before


def _site(tmp_path: Path) -> tuple[Path, Path, dict[Path, bytes]]:
    db = build_board(tmp_path / "b.sqlite")
    site = tmp_path / "site"
    assert _invoke(["leaderboard", "render", "--db", db, "--out", site, "--resamples", 200])[0] == 0
    return db, site, {p: p.read_bytes() for p in site.rglob("*") if p.is_file()}


def test_a_full_disk_during_render_leaves_the_previous_site_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db, site, before = _site(tmp_path)
    real_write = render_mod._write
    calls = []

    def full_disk(path: Path, text: str | bytes) -> Path:
        calls.append(path)
        if len(calls) > 3:
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        return real_write(path, text)

    monkeypatch.setattr(render_mod, "_write", full_disk)  # other settings: every page would change
    code, out = _invoke(["leaderboard", "render", "--db", db, "--out", site, "--resamples", 300, "--seed", 5])
    assert code == 1 and "No space left on device" in out
    assert {p: p.read_bytes() for p in site.rglob("*") if p.is_file()} == before
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".site")]  # no staging folder left


def test_a_new_render_replaces_the_whole_previous_site(tmp_path: Path) -> None:
    db, site, before = _site(tmp_path)
    stale = site / "system-stale-0000000000000000.html"
    stale.write_text("a page of a system removed since")
    assert _invoke(["leaderboard", "render", "--db", db, "--out", site, "--resamples", 200])[0] == 0
    assert not stale.exists() and set(before) == {p for p in site.rglob("*") if p.is_file()}


def test_a_folder_of_other_files_is_never_replaced_by_a_site(tmp_path: Path) -> None:
    db = build_board(tmp_path / "b.sqlite")
    out = tmp_path / "documents"
    out.mkdir()
    (out / "thesis.tex").write_text("years of work")
    code, msg = _invoke(["leaderboard", "render", "--db", db, "--out", out, "--resamples", 200])
    assert code == 2 and "not an amr-bench site" in msg
    assert [p.name for p in out.iterdir()] == ["thesis.tex"]


def test_site_file_names_carry_64_bits_of_hash() -> None:
    name = render_mod.system_file("team", "system")
    digest = hashlib.sha256(b'["team", "system"]').hexdigest()[:16]
    assert name.endswith(f"-{digest}.html")


def test_two_names_deriving_one_file_stop_the_render(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(render_mod, "system_file", lambda team, system: "system-same.html")
    with Store(build_board(tmp_path / "b.sqlite")) as st, pytest.raises(AmrBenchError, match="same file name"):
        render_mod.render_site(st, tmp_path / "site", RankSettings(resamples=200))
