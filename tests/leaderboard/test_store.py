"""The SQLite result store: round trip, idempotent re-add, versions, groups, migrations, concurrency."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from amr_bench.leaderboard import store as store_mod
from amr_bench.leaderboard.store import GroupKey, Store

SIG = {"scorer": "amr-bench 0.1.0", "metric": "R1+mAP v1", "gt_sha256": "g" * 64}


def _add(st: Store, team: str, system: str, sha: str, values: np.ndarray, **kw: object) -> store_mod.AddOutcome:
    args: dict = dict(
        team=team,
        system=system,
        benchmark="castella/val",
        sha256=sha,
        size=10,
        file_name="a.jsonl",
        gt_sha256="g" * 64,
        signature={**SIG, "submission_sha256": sha},
        qids=[f"q{i}" for i in range(len(values))],
        per_query={"R1@0.7": values, "mAP": values / 2},
        metrics={"R1@0.7": float(values.mean())},
        added_at="2026-01-01T00:00:00Z",
    )
    args.update(kw)
    return st.add(**args)


def test_round_trip_keeps_everything(tmp_path: Path) -> None:
    values = np.array([1.0, 0.0, 1.0, 0.125])
    with Store(tmp_path / "b.sqlite") as st:
        out = _add(st, "Team <A>", "sys", "s1", values, system_meta={"note": "x"}, synthetic=True)
        assert out.created and out.version == 1
    with Store(tmp_path / "b.sqlite") as st:  # reopened from disk
        (group,) = st.groups()
        assert group == GroupKey("castella/val", "g" * 64, store_mod.metric_signature(SIG))
        (entry,) = st.entries(group)
        assert (entry.team, entry.system, entry.synthetic, entry.meta) == ("Team <A>", "sys", True, {"note": "x"})
        assert entry.metrics == {"R1@0.7": pytest.approx(0.53125)}
        assert entry.signature["submission_sha256"] == "s1"
        assert np.array_equal(st.matrix([entry.submission_id], "R1@0.7")[0], values)
        assert np.array_equal(st.matrix([entry.submission_id], "mAP")[0], values / 2)
        assert st.qids("g" * 64) == ["q0", "q1", "q2", "q3"]
        assert st.per_query_columns(entry.submission_id) == ["R1@0.7", "mAP"]


def test_same_file_is_idempotent_and_a_changed_file_is_a_new_version(tmp_path: Path) -> None:
    with Store(tmp_path / "b.sqlite") as st:
        first = _add(st, "T", "s", "sha-1", np.ones(3))
        again = _add(st, "T", "s", "sha-1", np.ones(3))
        assert (again.submission_id, again.created) == (first.submission_id, False)
        changed = _add(st, "T", "s", "sha-2", np.zeros(3))
        assert changed.created and changed.version == 2
        assert st.count_submissions() == 2
        (group,) = st.groups()
        (latest,) = st.entries(group)
        assert latest.version == 2 and latest.sha256 == "sha-2"
        assert len(st.entries(group, all_versions=True)) == 2


def test_different_ground_truth_or_signature_never_share_a_group(tmp_path: Path) -> None:
    with Store(tmp_path / "b.sqlite") as st:
        _add(st, "T", "a", "x", np.ones(3))
        _add(st, "T", "b", "y", np.ones(3), gt_sha256="h" * 64)
        _add(st, "T", "c", "z", np.ones(3), signature={**SIG, "metric": "R1+mAP v2"})
        groups = st.groups()
        assert len(groups) == 3
        assert sorted(len(st.entries(g)) for g in groups) == [1, 1, 1]


def test_invalid_submission_is_stored_with_its_problems(tmp_path: Path) -> None:
    with Store(tmp_path / "b.sqlite") as st:
        st.add(
            team="T",
            system="bad",
            benchmark="castella/val",
            sha256="b",
            size=1,
            file_name="b.jsonl",
            gt_sha256="g" * 64,
            signature=SIG,
            status="invalid",
            problems=["b.jsonl:3: error: x"],
        )
        (entry,) = st.entries(st.groups()[0])
        assert entry.status == "invalid" and entry.problems == ["b.jsonl:3: error: x"]
        with pytest.raises(ValueError, match="per-query"):
            st.add(team="T", system="s", benchmark="b", sha256="c", size=1, file_name="c", gt_sha256="g", signature=SIG)


def test_query_ids_must_match_the_stored_ground_truth(tmp_path: Path) -> None:
    with Store(tmp_path / "b.sqlite") as st:
        _add(st, "T", "a", "x", np.ones(3))
        with pytest.raises(ValueError, match="query ids differ"):
            _add(st, "T", "b", "y", np.ones(3), qids=["q0", "q2", "q1"])
        assert st.count_submissions() == 1  # the failed transaction left nothing behind


def test_migrations_upgrade_an_old_file_and_keep_its_rows(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    db = sqlite3.connect(path, isolation_level=None)
    first = store_mod.MIGRATIONS[0]
    assert isinstance(first, str)
    db.executescript(first + "PRAGMA user_version = 1;")
    db.execute("INSERT INTO teams (name) VALUES ('old team')")
    db.close()
    with Store(path) as st:
        assert st.schema_version == store_mod.SCHEMA_VERSION == 3
        assert st.db.execute("SELECT name FROM teams").fetchall() == [("old team",)]
        st.db.execute("SELECT package_id FROM submissions").fetchall()  # the v2 column exists


_WRITER = textwrap.dedent(
    """
    import sys
    import numpy as np
    from amr_bench.leaderboard.store import Store
    path, who, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    st = Store(path)
    for i in range(n):
        st.add(team=who, system=f"s{i}", benchmark="castella/val", sha256=f"{who}{i}", size=1,
               file_name="f", gt_sha256="g", signature={"m": 1}, qids=["a", "b"],
               per_query={"R1@0.7": np.array([1.0, 0.0])}, metrics={"R1@0.7": 0.5})
        # both writers also add one identical file: it must be stored exactly once
        st.add(team="shared", system="same", benchmark="castella/val", sha256="same", size=1,
               file_name="f", gt_sha256="g", signature={"m": 1}, qids=["a", "b"],
               per_query={"R1@0.7": np.array([0.0, 0.0])})
    """
)


def test_two_concurrent_writer_processes_lose_nothing(tmp_path: Path) -> None:
    path = tmp_path / "board.sqlite"
    n = 40
    procs = [
        subprocess.Popen([sys.executable, "-c", _WRITER, str(path), who, str(n)], stderr=subprocess.PIPE, text=True)
        for who in ("alice", "bob")
    ]
    for p in procs:
        _, stderr = p.communicate(timeout=120)
        assert p.returncode == 0, stderr
    with Store(path) as st:
        assert st.count_submissions() == 2 * n + 1
        teams = sorted(e.team for e in st.entries(st.groups()[0]))
        assert teams.count("alice") == n and teams.count("bob") == n and teams.count("shared") == 1
