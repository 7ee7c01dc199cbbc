"""Store management and safety: what ranks, withdraw/restore/remove with an audit trail, files that are
not stores (left untouched), read-only opening, migrations of a store written before schema 3."""

from __future__ import annotations

import hashlib
import shutil
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as hst
from typer.testing import CliRunner

from amr_bench.cli import app
from amr_bench.errors import UsageError
from amr_bench.leaderboard import store as store_mod
from amr_bench.leaderboard.ranking import RankSettings, rank_group
from amr_bench.leaderboard.store import Store, StoreError, check_name

# Written by the store code of commit bd4b0c9 (schema 2): two systems on unav100-subset/test, the
# second one's signature rewritten to 'amr-bench 0.0.9', so it sat in a table of its own.
OLD_STORE = Path(__file__).resolve().parents[1] / "data" / "store_schema_v2.db"
SIG = {"scorer": "amr-bench 0.1.0", "metric": "mr-official-v1", "length_edges": [10.0, 30.0]}


def _add(st: Store, system: str, sha: str, hits: list[float], status: str = "ok", **kw: object) -> object:
    values = np.array(hits)
    args: dict = dict(
        team="T",
        system=system,
        benchmark="castella/val",
        sha256=sha,
        size=1,
        file_name=f"{sha}.jsonl",
        gt_sha256="g" * 64,
        signature={**SIG, "submission_sha256": sha},
        status=status,
    )
    if status == "ok":
        args.update(qids=["a", "b", "c"], per_query={"R1@0.7": values, "R1@0.5": values, "mAP": values})
    else:
        args.update(problems=[f"{sha}.jsonl:1: error: broken"])
    args.update(kw)
    return st.add(**args)


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _ranked(st: Store) -> list[tuple[str, int, str]]:
    ranking = rank_group(st, st.groups()[0], RankSettings(resamples=100, ci_metrics=("R1@0.7",)))
    return [(r.entry.system, r.entry.version, r.entry.status) for r in ranking.rows]


def test_a_later_failed_attempt_never_hides_the_valid_version(tmp_path: Path) -> None:
    with Store(tmp_path / "b.sqlite") as st:
        _add(st, "a", "a1", [1, 1, 0])
        _add(st, "a", "a2", [], status="invalid")  # e.g. a wrong --gt or a broken file
        _add(st, "b", "b1", [1, 0, 0])
        assert _ranked(st) == [("a", 1, "ok"), ("b", 1, "ok"), ("a", 2, "invalid")]
        _add(st, "a", "a3", [0, 0, 0])  # a newer valid version ranks; the failed one is history
        assert _ranked(st) == [("b", 1, "ok"), ("a", 3, "ok")]


def test_withdraw_and_restore_a_version_and_a_system_with_audit(tmp_path: Path) -> None:
    with Store(tmp_path / "b.sqlite") as st:
        _add(st, "a", "a1", [1, 1, 0])
        _add(st, "a", "a2", [1, 1, 1])
        _add(st, "b", "b1", [1, 0, 0])
        change = st.withdraw("T", "a", version=2, reason="late file", actor="chair")
        assert (change.rows, change.target) == (1, "T/a castella/val v2")
        assert _ranked(st) == [("a", 1, "ok"), ("b", 1, "ok")]
        assert st.withdraw("T", "a", version=2, reason="again", actor="chair").rows == 0  # no-op, no audit row
        st.withdraw("T", "b", reason="rule violation", actor="chair")
        assert _ranked(st) == [("a", 1, "ok")]
        st.restore("T", "a", version=2, reason="appeal accepted", actor="chair")
        st.restore("T", "b", reason="resolved", actor="chair")
        assert _ranked(st) == [("a", 2, "ok"), ("b", 1, "ok")]
        assert st.count_submissions() == 3  # nothing was deleted
        st.withdraw("T", "a", reason="x", actor="chair")
        st.withdraw("T", "b", reason="x", actor="chair")
        assert st.groups() == [] and len(st.groups(include_withdrawn=True)) == 1  # no empty table to rank
        st.restore("T", "a", reason="x", actor="chair")
        st.restore("T", "b", reason="x", actor="chair")
        log = [(a.action, a.actor, a.system, a.version, a.reason) for a in st.audit_log()][:4]
        assert log == [
            ("withdraw", "chair", "a", 2, "late file"),
            ("withdraw", "chair", "b", None, "rule violation"),
            ("restore", "chair", "a", 2, "appeal accepted"),
            ("restore", "chair", "b", None, "resolved"),
        ]
        versions = st.versions("T", "a")
        assert [(v.version, v.withdrawn_at) for v in versions] == [(1, None), (2, None)]
        with pytest.raises(UsageError, match="no system T/zz"):
            st.withdraw("T", "zz", reason="x", actor="chair")
        with pytest.raises(UsageError, match="no version 9"):
            st.withdraw("T", "a", version=9, benchmark="castella/val", reason="x", actor="chair")
        with pytest.raises(UsageError, match="reason"):
            st.withdraw("T", "a", reason=" ", actor="chair")


def test_remove_version_deletes_its_rows_and_keeps_a_record(tmp_path: Path) -> None:
    with Store(tmp_path / "b.sqlite") as st:
        _add(st, "a", "a1", [1, 1, 0])
        out = _add(st, "a", "a2", [1, 1, 1])
        change = st.remove_version("T", "a", version=2, reason="duplicate upload", actor="chair")
        assert change.rows == 1
        assert _ranked(st) == [("a", 1, "ok")]
        gone = out.submission_id  # type: ignore[attr-defined]
        for table in ("metrics", "per_query"):
            assert st.db.execute(f"SELECT COUNT(*) FROM {table} WHERE submission_id=?", (gone,)).fetchone()[0] == 0
        (entry,) = st.audit_log()
        assert entry.action == "remove" and entry.detail["files"][0]["sha256"] == "a2"


def test_nested_writes_are_one_transaction(tmp_path: Path) -> None:
    with Store(tmp_path / "b.sqlite") as st:
        with pytest.raises(RuntimeError), st.write():
            _add(st, "a", "a1", [1, 1, 0])
            raise RuntimeError("crash after the first system")
        assert st.count_submissions() == 0


def test_the_package_version_is_recorded_but_not_compared(tmp_path: Path) -> None:
    with Store(tmp_path / "b.sqlite") as st:
        _add(st, "a", "a1", [1, 1, 0])
        _add(st, "b", "b1", [1, 0, 0], signature={**SIG, "scorer": "amr-bench 9.9.9", "submission_sha256": "b1"})
        (group,) = st.groups()
        assert sorted(str(e.scorer) for e in st.entries(group)) == ["amr-bench 0.1.0", "amr-bench 9.9.9"]
        _add(st, "c", "c1", [1, 0, 0], signature={**SIG, "metric": "mr-official-v2", "submission_sha256": "c1"})
        assert len(st.groups()) == 2  # the metric definition still separates


def test_a_store_written_before_schema_3_keeps_working(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    shutil.copyfile(OLD_STORE, path)
    before = _digest(path)
    with Store(path, readonly=True) as st:  # read-only: migrated in memory, the file is not touched
        (group,) = st.groups()  # the two package versions now share one table
        assert sorted(e.system for e in st.entries(group)) == ["oracle", "whole"]
        assert _digest(path) == before
    with Store(path) as st:
        assert st.schema_version == store_mod.SCHEMA_VERSION
        (group,) = st.groups()
        entries = {e.system: e for e in st.entries(group)}
        assert entries["whole"].scorer == "amr-bench 0.0.9" and entries["oracle"].metrics["R1@0.7"] == 1.0
        again = _add_same_file(st, entries["oracle"])
        assert not again.created  # the same file is still recognised after the migration
        st.withdraw("Old", "whole", reason="test", actor="chair")
        assert [e.system for e in st.entries(group)] == ["oracle"]


def _add_same_file(st: Store, entry: store_mod.Entry) -> store_mod.AddOutcome:
    q = len(st.qids(entry.group.gt_sha256))
    return st.add(
        team=entry.team,
        system=entry.system,
        benchmark=entry.group.benchmark,
        sha256=entry.sha256,
        size=entry.size,
        file_name=entry.file_name,
        gt_sha256=entry.group.gt_sha256,
        signature={**entry.signature, "scorer": "amr-bench 0.2.0"},
        qids=st.qids(entry.group.gt_sha256),
        per_query={"R1@0.7": np.ones(q)},
    )


def _foreign(path: Path) -> Path:
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE photos (id INTEGER PRIMARY KEY, name TEXT)")
    db.execute("INSERT INTO photos (name) VALUES ('holiday')")
    db.commit()
    db.close()
    return path


@pytest.mark.parametrize("readonly", [False, True])
def test_an_unrelated_sqlite_file_is_refused_and_untouched(tmp_path: Path, readonly: bool) -> None:
    path = _foreign(tmp_path / "photos.sqlite")
    before = _digest(path)
    with pytest.raises(StoreError, match="not an amr-bench result store"):
        Store(path, readonly=readonly)
    assert _digest(path) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["photos.sqlite"]  # no -wal / -shm either


def test_a_store_of_a_newer_schema_is_refused_and_untouched(tmp_path: Path) -> None:
    path = tmp_path / "new.sqlite"
    Store(path).close()
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA user_version = {store_mod.SCHEMA_VERSION + 1}")
    db.close()
    before = _digest(path)
    for readonly in (False, True):
        with pytest.raises(StoreError, match="newer than this amr-bench"):
            Store(path, readonly=readonly)
    assert _digest(path) == before


def test_paths_that_cannot_be_stores_get_clear_messages(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.sqlite"
    garbage.write_bytes(b"hello, not a database\n" * 10)
    truncated = tmp_path / "truncated.sqlite"
    Store(tmp_path / "real.sqlite").close()
    truncated.write_bytes((tmp_path / "real.sqlite").read_bytes()[:60])
    half = tmp_path / "half.sqlite"
    half.write_bytes((tmp_path / "real.sqlite").read_bytes()[:1500])
    regular = tmp_path / "file.txt"
    regular.write_text("x")
    cases = {
        garbage: "not an SQLite file",
        truncated: "truncated SQLite file",
        tmp_path: "is a folder",
        Path("/dev/null"): "not a regular file",
        regular / "board.sqlite": "is a file, not a folder",
    }
    for path, message in cases.items():
        for readonly in (False, True):
            if readonly and path == regular / "board.sqlite":
                message = "no result store"
            before = _digest(path) if path.is_file() else None
            with pytest.raises(StoreError, match=message):
                Store(path, readonly=readonly)
            assert before is None or _digest(path) == before
    with pytest.raises(StoreError, match=r"cannot be used as an SQLite database|not an amr-bench"):
        Store(half)


def test_read_only_commands_do_not_write(tmp_path: Path) -> None:
    path = tmp_path / "b.sqlite"
    with Store(path) as st:
        _add(st, "a", "a1", [1, 1, 0])
    before = _digest(path)
    with Store(path, readonly=True) as st:
        assert _ranked(st) == [("a", 1, "ok")]
        with pytest.raises(StoreError, match="read-only"):
            _add(st, "b", "b1", [1, 0, 0])
        with pytest.raises(sqlite3.OperationalError):
            st.db.execute("CREATE TABLE x (y)")
    assert _digest(path) == before


def test_cli_rank_and_render_refuse_a_foreign_file_without_changing_it(tmp_path: Path) -> None:
    path = _foreign(tmp_path / "photos.sqlite")
    before = _digest(path)
    runner = CliRunner()
    for args in (["rank"], ["render", "--out", str(tmp_path / "site")]):
        res = runner.invoke(app, ["leaderboard", *args, "--db", str(path)])
        assert res.exit_code == 1, res.output
        assert "not an amr-bench result store" in res.output and "Traceback" not in res.output
    assert _digest(path) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["photos.sqlite"]


@pytest.mark.parametrize("bad", ["", " padded", "tab\there", "nul\x00", "bad\udcff"])
def test_names_that_cannot_be_shown_are_refused(bad: str) -> None:
    with pytest.raises(UsageError):
        check_name("team", bad)
    assert check_name("team", "Doe_UNI <b>") == "Doe_UNI <b>"


@pytest.fixture
def immutable() -> Iterator[Callable[[Path], Path]]:
    """Make files write-protected even for root (``chattr +i``); skip where the file system cannot."""
    import subprocess

    protected: list[Path] = []

    def protect(path: Path) -> Path:
        if subprocess.run(["chattr", "+i", str(path)], capture_output=True).returncode != 0:
            pytest.skip("chattr +i is not available here")
        protected.append(path)
        return path

    yield protect
    for path in protected:
        subprocess.run(["chattr", "-i", str(path)], check=False)


def test_a_write_protected_store_is_ranked_and_rendered_and_refused_for_writes(
    tmp_path: Path, immutable: Callable[[Path], Path]
) -> None:
    from amr_bench.groundtruth import load_ground_truth
    from amr_bench.leaderboard.results import add_records

    path = tmp_path / "b.sqlite"
    gt = load_ground_truth("unav100-subset/test")
    with Store(path) as st:
        for system, end in (("a", 10.0), ("b", 5.0)):
            records = [{"qid": q, "pred_relevant_windows": [[0.0, end]]} for q in gt.qids]
            add_records(st, records, gt, team="T", system=system, benchmark="unav", file_name=f"{system}.jsonl")
    before = _digest(path)
    immutable(path)
    runner = CliRunner()
    res = runner.invoke(app, ["leaderboard", "rank", "--db", str(path), "--resamples", "100"])
    assert res.exit_code == 0, res.output
    assert "T/a" in res.output and "T/b" in res.output
    site = tmp_path / "site"
    res = runner.invoke(app, ["leaderboard", "render", "--db", str(path), "--out", str(site), "--resamples", "100"])
    assert res.exit_code == 0, res.output
    res = runner.invoke(app, ["leaderboard", "withdraw", "T/a", "--reason", "x", "--db", str(path)])
    assert res.exit_code == 1 and "read-only" in res.output and "Traceback" not in res.output
    assert _digest(path) == before


operations = hst.lists(
    hst.one_of(
        hst.tuples(hst.just("ok"), hst.just(0)),
        hst.tuples(hst.just("invalid"), hst.just(0)),
        hst.tuples(hst.sampled_from(["withdraw", "restore"]), hst.integers(1, 6)),
    ),
    max_size=8,
)


@settings(max_examples=25)
@given(operations)
def test_what_ranks_follows_the_policy_for_any_history(ops: list[tuple[str, int]]) -> None:
    """Model: the latest valid version not withdrawn ranks, plus the latest failed attempt after it."""
    import tempfile

    model: dict[int, list[Any]] = {}  # version -> [status, withdrawn]
    with tempfile.TemporaryDirectory() as tmp, Store(Path(tmp) / "b.sqlite") as store:
        for k, (op, version) in enumerate(ops):
            if op in ("ok", "invalid"):
                _add(store, "a", f"file{k}", [1, 0, 1], status=op)
                model[len(model) + 1] = [op, False]
            elif version in model:
                getattr(store, op)("T", "a", version=version, reason="r", actor="x")
                model[version][1] = op == "withdraw"
        live = [(v, s) for v, (s, withdrawn) in sorted(model.items()) if not withdrawn]
        valid = [v for v, s in live if s == "ok"]
        if valid:
            failed = [v for v, s in live if s != "ok" and v > valid[-1]]
            expected = sorted([valid[-1], *failed[-1:]], reverse=True)
        else:
            expected = [v for v, _ in live][-1:]
        groups = store.groups()
        got = sorted((e.version for g in groups for e in store.entries(g)), reverse=True)
        assert got == expected
