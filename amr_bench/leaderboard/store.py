"""The result store: one SQLite file holding teams, systems, submissions, metrics and per-query scores.

Layout (schema version in ``PRAGMA user_version``, migrations in ``store_schema.py``, applied in
order inside one write transaction, so two processes opening a new file at once are safe):

- ``teams``, ``systems`` (unique per team; flags ``synthetic`` and ``baseline``, free metadata such
  as a DCASE package's system meta; ``withdrawn_at`` when an organiser withdrew the system).
- ``ground_truths``: one row per ground-truth file hash, with its query ids in scoring order.
- ``submissions``: one scored (or rejected) file for one system on one benchmark: file sha256,
  size and name, time added, ground-truth hash, the result signature, status and problems. A
  different file for the same system and benchmark is the next ``version``; the same file again
  is a no-op. ``withdrawn_at`` when an organiser withdrew that version.
- ``metrics``: every aggregate metric of a submission, unrounded.
- ``per_query``: the per-query score matrix, one zlib-compressed little-endian float64 BLOB per
  submission and column (``R1@0.7``, ``AP@0.5``, ``mAP``, ``gt_max_len``...). Why BLOBs: a row per
  (submission, query, column) would be ~45,000 rows per CASTELLA test run and slow to read back;
  a BLOB per column is read in one query and handed to numpy without a Python loop. Why float64:
  means recomputed from the stored matrix equal the scorer's unrounded metrics bit for bit (AP
  values would lose digits in float32); the 0/1 columns compress to a few hundred bytes anyway.
- ``packages``: the DCASE packages submissions came from (hash, file name, technical report
  name, hash and bytes, intake notes).
- ``audit``: who withdrew, restored or removed what, when and why.

Comparability: results are only ever compared within a *group*: same benchmark, same
ground-truth hash, same comparability key (:class:`GroupKey`). The key is the result signature
without the inputs' identity and without the package version (``scorer``): the metric definition
(``mr-official-v1...``) says what makes numbers comparable, and the package version is recorded
with each result (in ``signature_json``) but a docs-only release must not split a leaderboard.

What ranks: per system and group, the latest *valid* version that is not withdrawn; a failed
attempt after it is kept and listed as failed, it never hides the valid one.

Safety (``store_files.py``): a store is opened only after checking that the path is a regular SQLite file of ours (not
a folder, a device, an unrelated database or one of a newer schema): otherwise :class:`StoreError`
and the file is left untouched. Read-only users (``rank``, ``render``) open it with
``mode=ro`` and never create tables or switch the journal mode; an older store read this way is
migrated in a private in-memory copy. Writers use ``BEGIN IMMEDIATE`` with a generous busy
timeout, so concurrent ``add`` calls from several processes serialise instead of losing rows;
:meth:`Store.write` nests, so a whole package is stored in one transaction.
"""

from __future__ import annotations

import json
import sqlite3
import zlib
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from amr_bench.errors import UsageError, did_you_mean
from amr_bench.leaderboard.dcase_meta import SystemSummary, summarise
from amr_bench.leaderboard.store_files import (
    StoreError,
    check_is_ours,
    check_store_path,
    connect,
    connect_readonly,
    migrated_copy,
)
from amr_bench.leaderboard.store_schema import (  # MIGRATIONS, the keys: re-exported for users of the store
    IDENTITY_KEYS,  # noqa: F401
    MIGRATIONS,  # noqa: F401
    RECORDED_KEYS,  # noqa: F401
    SCHEMA_VERSION,
    apply_migrations,
    canonical_json,
    metric_signature,
)

MAX_NAME_CHARS = 200


@dataclass(frozen=True, order=True)
class GroupKey:
    """Results are ranked together only when all three agree (``metric_signature``: the comparability key)."""

    benchmark: str
    gt_sha256: str
    metric_signature: str


@dataclass(frozen=True)
class Entry:
    """One submission of one system in one group, as the ranking and pages need it."""

    submission_id: int
    team: str
    system: str
    synthetic: bool
    baseline: bool
    meta: dict[str, Any]
    group: GroupKey
    version: int
    sha256: str
    size: int
    file_name: str
    added_at: str
    status: str
    problems: list[str]
    signature: dict[str, Any]
    metrics: dict[str, float] = field(default_factory=dict)
    withdrawn: bool = False
    package_id: int | None = None

    @property
    def scorer(self) -> str | None:
        """The package version that scored it (recorded, not part of the comparability key)."""
        value = self.signature.get("scorer")
        return None if value is None else str(value)


@dataclass(frozen=True)
class AddOutcome:
    submission_id: int
    version: int
    created: bool  # False when the very same file was already stored (idempotent re-add)


@dataclass(frozen=True)
class VersionInfo:
    """One stored version of a system on one benchmark (``leaderboard versions``)."""

    submission_id: int
    team: str
    system: str
    benchmark: str
    version: int
    status: str
    sha256: str
    file_name: str
    added_at: str
    gt_sha256: str
    scorer: str | None
    withdrawn_at: str | None
    system_withdrawn_at: str | None
    package_id: int | None
    metrics: dict[str, float]
    problems: list[str]


@dataclass(frozen=True)
class PackageInfo:
    """A DCASE package a system's submissions came from."""

    package_id: int
    file_name: str
    sha256: str
    report_name: str
    report_sha256: str
    added_at: str
    notes: list[str]
    has_report: bool


@dataclass(frozen=True)
class SystemInfo:
    """A system and the metadata intake stored for it (``meta``: the DCASE meta YAML as JSON)."""

    team: str
    system: str
    synthetic: bool
    baseline: bool
    withdrawn_at: str | None
    meta: dict[str, Any]
    package: PackageInfo | None

    @property
    def summary(self) -> SystemSummary | None:
        """The DCASE meta in one shape, whatever the template's spelling; None for systems not from a package."""
        return summarise(self.meta)


@dataclass(frozen=True)
class AuditEntry:
    at: str
    actor: str
    action: str
    team: str
    system: str
    benchmark: str | None
    version: int | None
    reason: str
    detail: dict[str, Any]


@dataclass(frozen=True)
class Change:
    """What a withdraw / restore / remove did (``rows``: submissions or systems changed)."""

    action: str
    target: str
    rows: int


def utc_now() -> str:
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def pack(values: NDArray[Any]) -> bytes:
    return zlib.compress(np.ascontiguousarray(values, dtype="<f8").tobytes(), 6)


def unpack(blob: bytes) -> NDArray[np.float64]:
    return np.frombuffer(zlib.decompress(blob), dtype="<f8")


def check_name(kind: str, value: str) -> str:
    """A team or system name fit for tables and pages, in Unicode normal form C; ``UsageError`` otherwise.

    Refuses empty names, surrounding white space, control characters, invisible format characters
    (right-to-left overrides, zero-width spaces and joiners: see :mod:`amr_bench.names`), line and
    paragraph separators, lone surrogates (text that was not UTF-8) and over-long names. Markup is
    allowed: the site escapes it. ``leaderboard ingest --check-only`` runs this same check.
    """
    from amr_bench.names import describe_refused, nfc

    problem = None
    if not isinstance(value, str) or not value or not value.strip():
        problem = "is empty"
    elif value != value.strip():
        problem = "starts or ends with white space"
    elif len(nfc(value)) > MAX_NAME_CHARS:
        problem = f"has {len(nfc(value))} characters; at most {MAX_NAME_CHARS}"
    elif any(0xD800 <= ord(c) < 0xE000 for c in value):
        problem = "is not valid UTF-8 text (a lone surrogate)"
    else:
        for i, c in enumerate(value):
            what = describe_refused(c)
            if what is not None:
                problem = f"contains {what} (U+{ord(c):04X}, character {i + 1})"
                break
    if problem:
        raise UsageError(f"{kind} name {value!a} {problem}")
    return nfc(value)


def _nfc(name: str) -> str:
    from amr_bench.names import nfc

    return nfc(name)


class Store:
    """A leaderboard database file (created with the current schema on first use unless ``readonly``)."""

    def __init__(self, path: str | Path, *, readonly: bool = False) -> None:
        self.path = Path(path)
        self.readonly = readonly
        self._depth = 0
        check_store_path(self.path, must_exist=readonly)
        self.db = connect_readonly(self.path) if readonly else connect(self.path)
        try:
            version = check_is_ours(self.db, self.path)
            if readonly:
                if version < SCHEMA_VERSION:
                    self.db = migrated_copy(self.db, version)
            else:
                self.db.execute("PRAGMA foreign_keys = ON")
                self.db.execute("PRAGMA journal_mode = WAL")
                self.migrate()
        except sqlite3.DatabaseError as exc:
            self.db.close()
            if "readonly" in str(exc):
                raise StoreError(
                    f"{self.path}: read-only; this command writes to the store (rank, render only read)"
                ) from None
            raise StoreError(f"{self.path}: cannot be used as an SQLite database ({exc}); left as it is") from None
        except BaseException:
            self.db.close()
            raise

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- schema -----------------------------------------------------------------------------
    @property
    def schema_version(self) -> int:
        return int(self.db.execute("PRAGMA user_version").fetchone()[0])

    def migrate(self, target: int = SCHEMA_VERSION) -> None:
        if self.schema_version >= target:
            return
        with self.write():
            current = self.schema_version  # re-read under the lock: another process may have won
            apply_migrations(self.db, current, target)

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction (``BEGIN IMMEDIATE``: the lock up front); nested calls join the outer one."""
        if self.readonly:
            raise StoreError(f"{self.path}: opened read-only; this command cannot change it")
        if self._depth:
            self._depth += 1
            try:
                yield self.db
            finally:
                self._depth -= 1
            return
        try:
            self.db.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise StoreError(f"{self.path}: cannot write ({exc})") from None
        self._depth = 1
        try:
            yield self.db
        except sqlite3.OperationalError as exc:  # read-only file, full disk, lock lost: nothing stored
            self._rollback()
            raise StoreError(f"{self.path}: cannot write ({exc}); nothing was stored") from None
        except BaseException:
            self._rollback()
            raise
        else:
            try:
                self.db.execute("COMMIT")
            except sqlite3.OperationalError as exc:
                self._rollback()
                raise StoreError(f"{self.path}: cannot write ({exc}); nothing was stored") from None
        finally:
            self._depth = 0

    def _rollback(self) -> None:
        if self.db.in_transaction:
            self.db.execute("ROLLBACK")

    # -- writing ----------------------------------------------------------------------------
    def add(
        self,
        *,
        team: str,
        system: str,
        benchmark: str,
        sha256: str,
        size: int,
        file_name: str,
        gt_sha256: str,
        signature: Mapping[str, Any],
        status: str = "ok",
        qids: Sequence[str] | None = None,
        per_query: Mapping[str, NDArray[Any]] | None = None,
        metrics: Mapping[str, float] | None = None,
        problems: Sequence[str] = (),
        synthetic: bool = False,
        baseline: bool = False,
        system_meta: Mapping[str, Any] | None = None,
        package_id: int | None = None,
        added_at: str | None = None,
    ) -> AddOutcome:
        """Store one submission; the same file for the same system and group is stored once."""
        team = check_name("team", team)
        system = check_name("system", system)
        group_sig = metric_signature(signature)
        if status == "ok" and (qids is None or per_query is None):
            raise ValueError("a scored submission needs its qids and per-query scores")
        with self.write():
            team_id = self._upsert_team(team)
            system_id = self._upsert_system(team_id, system, synthetic, baseline, system_meta)
            row = self.db.execute(
                "SELECT id, version FROM submissions WHERE system_id=? AND benchmark=? AND "
                "gt_sha256=? AND group_signature=? AND sha256=?",
                (system_id, benchmark, gt_sha256, group_sig, sha256),
            ).fetchone()
            if row is not None:
                return AddOutcome(row[0], row[1], created=False)
            version = self._version_for(system_id, benchmark, sha256)
            if qids is not None:
                self._ensure_ground_truth(gt_sha256, list(qids))
            cur = self.db.execute(
                "INSERT INTO submissions (system_id, benchmark, version, sha256, size, file_name,"
                " added_at, gt_sha256, metric_signature, group_signature, signature_json, status,"
                " problems_json, package_id) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    system_id,
                    benchmark,
                    version,
                    sha256,
                    size,
                    file_name,
                    added_at or utc_now(),
                    gt_sha256,
                    group_sig,
                    group_sig,
                    canonical_json(dict(signature)),
                    status,
                    canonical_json(list(problems)),
                    package_id,
                ),
            )
            sid = int(cur.lastrowid or 0)
            if per_query:
                self.db.executemany(
                    "INSERT INTO per_query (submission_id, column_name, data) VALUES (?,?,?)",
                    [(sid, name, pack(np.asarray(v))) for name, v in sorted(per_query.items())],
                )
            if metrics:
                self.db.executemany(
                    "INSERT INTO metrics (submission_id, name, value) VALUES (?,?,?)",
                    [(sid, k, float(v)) for k, v in sorted(metrics.items())],
                )
            return AddOutcome(sid, version, created=True)

    def add_package(
        self,
        *,
        team: str,
        sha256: str,
        file_name: str,
        report_name: str,
        report_sha256: str,
        report: bytes | None = None,
        notes: Sequence[str] = (),
        added_at: str | None = None,
    ) -> int:
        """Record a DCASE package (and its technical report's bytes); the same package again is a no-op."""
        team = check_name("team", team)
        with self.write():
            team_id = self._upsert_team(team)
            row = self.db.execute("SELECT id FROM packages WHERE sha256=?", (sha256,)).fetchone()
            if row is not None:
                return int(row[0])
            cur = self.db.execute(
                "INSERT INTO packages (sha256, file_name, team_id, report_name, report_sha256,"
                " added_at, report, notes_json) VALUES (?,?,?,?,?,?,?,?)",
                (
                    sha256,
                    file_name,
                    team_id,
                    report_name,
                    report_sha256,
                    added_at or utc_now(),
                    report,
                    canonical_json(list(notes)),
                ),
            )
            return int(cur.lastrowid or 0)

    def _upsert_team(self, name: str) -> int:
        self.db.execute("INSERT OR IGNORE INTO teams (name) VALUES (?)", (name,))
        return int(self.db.execute("SELECT id FROM teams WHERE name=?", (name,)).fetchone()[0])

    def _upsert_system(
        self,
        team_id: int,
        name: str,
        synthetic: bool,
        baseline: bool,
        meta: Mapping[str, Any] | None,
    ) -> int:
        self.db.execute(
            "INSERT OR IGNORE INTO systems (team_id, name, synthetic, baseline, meta_json) VALUES (?,?,?,?,?)",
            (team_id, name, int(synthetic), int(baseline), canonical_json(dict(meta or {}))),
        )
        if meta is not None:
            self.db.execute(
                "UPDATE systems SET meta_json=?, synthetic=?, baseline=? WHERE team_id=? AND name=?",
                (canonical_json(dict(meta)), int(synthetic), int(baseline), team_id, name),
            )
        return int(self.db.execute("SELECT id FROM systems WHERE team_id=? AND name=?", (team_id, name)).fetchone()[0])

    def _version_for(self, system_id: int, benchmark: str, sha256: str) -> int:
        row = self.db.execute(
            "SELECT version FROM submissions WHERE system_id=? AND benchmark=? AND sha256=?",
            (system_id, benchmark, sha256),
        ).fetchone()
        if row is not None:  # the same file re-scored under another ground truth or signature
            return int(row[0])
        top = self.db.execute(
            "SELECT MAX(version) FROM submissions WHERE system_id=? AND benchmark=?",
            (system_id, benchmark),
        ).fetchone()[0]
        return int(top or 0) + 1

    def _ensure_ground_truth(self, sha256: str, qids: list[str]) -> None:
        row = self.db.execute("SELECT qids FROM ground_truths WHERE sha256=?", (sha256,)).fetchone()
        blob = zlib.compress(canonical_json(qids).encode("utf-8"))
        if row is None:
            self.db.execute(
                "INSERT INTO ground_truths (sha256, n_queries, qids) VALUES (?,?,?)",
                (sha256, len(qids), blob),
            )
        elif json.loads(zlib.decompress(row[0])) != qids:
            raise ValueError(f"ground truth {sha256[:12]}: query ids differ from the stored ones")

    # -- organiser actions ------------------------------------------------------------------
    def withdraw(
        self,
        team: str,
        system: str,
        *,
        reason: str,
        actor: str,
        version: int | None = None,
        benchmark: str | None = None,
    ) -> Change:
        """Withdraw a system (or one version [on one benchmark]): kept in the store, no longer ranked."""
        return self._set_withdrawn(team, system, "withdraw", reason, actor, version, benchmark)

    def restore(
        self,
        team: str,
        system: str,
        *,
        reason: str,
        actor: str,
        version: int | None = None,
        benchmark: str | None = None,
    ) -> Change:
        """Undo :meth:`withdraw` for a system or a version."""
        return self._set_withdrawn(team, system, "restore", reason, actor, version, benchmark)

    def remove_version(
        self, team: str, system: str, *, version: int, reason: str, actor: str, benchmark: str | None = None
    ) -> Change:
        """Delete one version (its rows, metrics and per-query scores) for good; the audit table keeps the record."""
        if not reason.strip():
            raise UsageError("remove-version: give a reason (--reason)")
        team, system = _nfc(team), _nfc(system)
        with self.write():
            system_id = self._system_id(team, system)
            benchmark = self._benchmark_of(system_id, version, benchmark)
            rows = self.db.execute(
                "SELECT id, sha256, file_name, status FROM submissions WHERE system_id=? AND benchmark=? AND version=?",
                (system_id, benchmark, version),
            ).fetchall()
            ids = [(r[0],) for r in rows]
            for table in ("metrics", "per_query"):
                self.db.executemany(f"DELETE FROM {table} WHERE submission_id=?", ids)
            self.db.executemany("DELETE FROM submissions WHERE id=?", ids)
            detail = {"files": [{"sha256": r[1], "file_name": r[2], "status": r[3]} for r in rows]}
            self._audit("remove", team, system, benchmark, version, reason, actor, detail)
        return Change("remove", f"{team}/{system} {benchmark} v{version}", len(rows))

    def _set_withdrawn(
        self,
        team: str,
        system: str,
        action: str,
        reason: str,
        actor: str,
        version: int | None = None,
        benchmark: str | None = None,
    ) -> Change:
        if not reason.strip():
            raise UsageError(f"{action}: give a reason (--reason)")
        team, system = _nfc(team), _nfc(system)
        stamp = utc_now() if action == "withdraw" else None
        state = "withdrawn_at IS NULL" if action == "withdraw" else "withdrawn_at IS NOT NULL"
        with self.write():
            system_id = self._system_id(team, system)
            if version is None:
                if benchmark is not None:
                    raise UsageError("--benchmark selects a version: give --version too")
                cur = self.db.execute(f"UPDATE systems SET withdrawn_at=? WHERE id=? AND {state}", (stamp, system_id))
                target = f"{team}/{system}"
            else:
                benchmark = self._benchmark_of(system_id, version, benchmark)
                cur = self.db.execute(
                    "UPDATE submissions SET withdrawn_at=? WHERE system_id=? AND benchmark=? AND version=?"
                    f" AND {state}",
                    (stamp, system_id, benchmark, version),
                )
                target = f"{team}/{system} {benchmark} v{version}"
            if cur.rowcount:
                self._audit(action, team, system, benchmark, version, reason, actor, {})
        return Change(action, target, cur.rowcount)

    def find_system(self, spec: str) -> tuple[str, str]:
        """``TEAM/SYSTEM`` (names may themselves contain '/') or a system name stored once -> (team, system)."""
        spec = _nfc(spec)
        names = self.db.execute(_SYSTEM_NAMES).fetchall()
        exact = [(t, s) for t, s in names if f"{t}/{s}" == spec]
        by_system = [(t, s) for t, s in names if s == spec]
        found = exact or by_system
        if len(found) == 1:
            return found[0]
        if found:
            raise UsageError(f"{spec!r} names several systems: {', '.join(f'{t}/{s}' for t, s in found)}")
        labels = [f"{t}/{s}" for t, s in names]
        hint = did_you_mean(spec, labels + [s for _, s in names])
        raise UsageError(f"no system {spec!r} in {self.path}{hint}; stored: {', '.join(labels[:20]) or 'none'}")

    def _system_id(self, team: str, system: str) -> int:
        row = self.db.execute(
            "SELECT y.id FROM systems y JOIN teams t ON t.id = y.team_id WHERE t.name=? AND y.name=?", (team, system)
        ).fetchone()
        if row is None:
            known = [f"{t}/{s}" for t, s in self.db.execute(_SYSTEM_NAMES)]
            raise UsageError(f"no system {team}/{system} in {self.path}; stored: " + (", ".join(known[:20]) or "none"))
        return int(row[0])

    def _benchmark_of(self, system_id: int, version: int, benchmark: str | None) -> str:
        found = [
            r[0]
            for r in self.db.execute(
                "SELECT DISTINCT benchmark FROM submissions WHERE system_id=? AND version=? ORDER BY benchmark",
                (system_id, version),
            )
        ]
        if benchmark is not None:
            if benchmark not in found:
                raise UsageError(
                    f"--benchmark: no version {version} on {benchmark!r}{did_you_mean(benchmark, found)}; "
                    f"it exists on: {', '.join(found) or 'none'}"
                )
            return benchmark
        if not found:
            stored = sorted(
                {int(r[0]) for r in self.db.execute("SELECT version FROM submissions WHERE system_id=?", (system_id,))}
            )
            raise UsageError(
                f"--version {version}: no such version of this system; its versions: "
                + (", ".join(str(v) for v in stored) or "none")
                + " (amr-bench leaderboard versions lists them)"
            )
        if len(found) != 1:
            raise UsageError(
                f"--version {version} exists on several benchmarks ({', '.join(found)}); name one with --benchmark"
            )
        return found[0]

    def _audit(
        self,
        action: str,
        team: str,
        system: str,
        benchmark: str | None,
        version: int | None,
        reason: str,
        actor: str,
        detail: Mapping[str, Any],
    ) -> None:
        self.db.execute(
            "INSERT INTO audit (at, actor, action, team, system, benchmark, version, reason, detail_json)"
            " VALUES (?,?,?,?,?,?,?,?,?)",
            (utc_now(), actor, action, team, system, benchmark, version, reason, canonical_json(dict(detail))),
        )

    # -- reading ----------------------------------------------------------------------------
    def groups(self, include_withdrawn: bool = False) -> list[GroupKey]:
        """Every group with something to rank (``include_withdrawn``: also groups of withdrawn rows only)."""
        live = "" if include_withdrawn else " WHERE s.withdrawn_at IS NULL AND y.withdrawn_at IS NULL"
        rows = self.db.execute(
            "SELECT DISTINCT s.benchmark, s.gt_sha256, s.group_signature FROM submissions s"
            f" JOIN systems y ON y.id = s.system_id{live} ORDER BY s.benchmark, s.gt_sha256, s.group_signature"
        ).fetchall()
        return [GroupKey(*r) for r in rows]

    def entries(self, group: GroupKey, all_versions: bool = False) -> list[Entry]:
        """What ranks in ``group``, sorted by team, system.

        Per system that is not withdrawn: its latest valid version that is not withdrawn, plus the
        latest failed attempt after it (listed as failed, never hiding the valid one); a system
        without a valid version shows its latest attempt. ``all_versions``: every stored row,
        withdrawn ones included (``Entry.withdrawn``).
        """
        rows = self.db.execute(_ENTRY_SQL, (group.benchmark, group.gt_sha256, group.metric_signature)).fetchall()
        out: list[Entry] = []
        by_system: dict[tuple[str, str], list[Any]] = {}
        for r in rows:
            by_system.setdefault((r[1], r[2]), []).append(r)
        for versions in by_system.values():  # each: newest first
            chosen = versions if all_versions else _ranked_rows(versions)
            out += [self._entry(group, r) for r in chosen]
        return out

    def _entry(self, group: GroupKey, r: Any) -> Entry:
        return Entry(
            submission_id=r[0],
            team=r[1],
            system=r[2],
            synthetic=bool(r[3]),
            baseline=bool(r[4]),
            meta=json.loads(r[5]),
            group=group,
            version=r[6],
            sha256=r[7],
            size=r[8],
            file_name=r[9],
            added_at=r[10],
            status=r[11],
            problems=json.loads(r[12]),
            signature=json.loads(r[13]),
            metrics=self.metrics(r[0]),
            withdrawn=r[14] is not None or r[15] is not None,
            package_id=r[16],
        )

    def versions(self, team: str | None = None, system: str | None = None) -> list[VersionInfo]:
        """Every stored version (of one team, or one system), oldest first per system and benchmark."""
        team = None if team is None else _nfc(team)
        system = None if system is None else _nfc(system)
        rows = self.db.execute(
            "SELECT s.id, t.name, y.name, s.benchmark, s.version, s.status, s.sha256, s.file_name, s.added_at,"
            " s.gt_sha256, s.signature_json, s.withdrawn_at, y.withdrawn_at, s.package_id, s.problems_json"
            " FROM submissions s JOIN systems y ON y.id = s.system_id JOIN teams t ON t.id = y.team_id"
            " WHERE (? IS NULL OR t.name = ?) AND (? IS NULL OR y.name = ?)"
            " ORDER BY t.name, y.name, s.benchmark, s.version, s.id",
            (team, team, system, system),
        ).fetchall()
        return [
            VersionInfo(
                submission_id=r[0],
                team=r[1],
                system=r[2],
                benchmark=r[3],
                version=r[4],
                status=r[5],
                sha256=r[6],
                file_name=r[7],
                added_at=r[8],
                gt_sha256=r[9],
                scorer=json.loads(r[10]).get("scorer"),
                withdrawn_at=r[11],
                system_withdrawn_at=r[12],
                package_id=r[13],
                metrics=self.metrics(r[0]),
                problems=json.loads(r[14]),
            )
            for r in rows
        ]

    def systems_with_metadata(self) -> list[SystemInfo]:
        """Every system with the metadata stored for it and the package of its latest packaged submission."""
        packages = {p.package_id: p for p in self.packages()}
        rows = self.db.execute(
            "SELECT t.name, y.name, y.synthetic, y.baseline, y.withdrawn_at, y.meta_json,"
            " (SELECT s.package_id FROM submissions s WHERE s.system_id = y.id AND s.package_id IS NOT NULL"
            "  ORDER BY s.id DESC LIMIT 1)"
            " FROM systems y JOIN teams t ON t.id = y.team_id ORDER BY t.name, y.name"
        ).fetchall()
        return [
            SystemInfo(r[0], r[1], bool(r[2]), bool(r[3]), r[4], json.loads(r[5]), packages.get(r[6])) for r in rows
        ]

    def packages(self) -> list[PackageInfo]:
        rows = self.db.execute(
            "SELECT id, file_name, sha256, report_name, report_sha256, added_at, notes_json, report IS NOT NULL"
            " FROM packages ORDER BY id"
        ).fetchall()
        return [PackageInfo(r[0], r[1], r[2], r[3], r[4], r[5], json.loads(r[6]), bool(r[7])) for r in rows]

    def package_report(self, package_id: int) -> tuple[str, bytes] | None:
        """The technical report of a package: (file name, PDF bytes), or None if not stored."""
        row = self.db.execute("SELECT report_name, report FROM packages WHERE id=?", (package_id,)).fetchone()
        return None if row is None or row[1] is None else (str(row[0]), bytes(row[1]))

    def audit_log(self) -> list[AuditEntry]:
        rows = self.db.execute(
            "SELECT at, actor, action, team, system, benchmark, version, reason, detail_json FROM audit ORDER BY id"
        ).fetchall()
        return [AuditEntry(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], json.loads(r[8])) for r in rows]

    def metrics(self, submission_id: int) -> dict[str, float]:
        rows = self.db.execute(
            "SELECT name, value FROM metrics WHERE submission_id=? ORDER BY name", (submission_id,)
        ).fetchall()
        return {k: v for k, v in rows}

    def qids(self, gt_sha256: str) -> list[str]:
        row = self.db.execute("SELECT qids FROM ground_truths WHERE sha256=?", (gt_sha256,)).fetchone()
        return [] if row is None else list(json.loads(zlib.decompress(row[0])))

    def per_query_columns(self, submission_id: int) -> list[str]:
        rows = self.db.execute(
            "SELECT column_name FROM per_query WHERE submission_id=? ORDER BY column_name",
            (submission_id,),
        ).fetchall()
        return [r[0] for r in rows]

    def matrix(self, submission_ids: Sequence[int], column: str) -> NDArray[np.float64]:
        """``(len(submission_ids), queries)`` per-query scores of one column."""
        placeholders = ",".join("?" * len(submission_ids))
        rows = dict(
            self.db.execute(
                f"SELECT submission_id, data FROM per_query WHERE column_name=? AND submission_id IN ({placeholders})",
                (column, *submission_ids),
            ).fetchall()
        )
        missing = [s for s in submission_ids if s not in rows]
        if missing:
            raise KeyError(f"no per-query column {column!r} for submissions {missing}")
        return np.stack([unpack(rows[s]) for s in submission_ids])

    def count_submissions(self) -> int:
        return int(self.db.execute("SELECT COUNT(*) FROM submissions").fetchone()[0])


_SYSTEM_NAMES = "SELECT t.name, y.name FROM systems y JOIN teams t ON t.id = y.team_id ORDER BY t.name, y.name"
_ENTRY_SQL = (
    "SELECT s.id, t.name, y.name, y.synthetic, y.baseline, y.meta_json, s.version,"
    " s.sha256, s.size, s.file_name, s.added_at, s.status, s.problems_json,"
    " s.signature_json, s.withdrawn_at, y.withdrawn_at, s.package_id FROM submissions s"
    " JOIN systems y ON y.id = s.system_id JOIN teams t ON t.id = y.team_id WHERE s.benchmark=?"
    " AND s.gt_sha256=? AND s.group_signature=? ORDER BY t.name, y.name, s.version DESC, s.id DESC"
)


def _ranked_rows(versions: list[Any]) -> list[Any]:
    """Newest-first rows of one system -> the valid one that ranks and a later failed attempt."""
    live = [r for r in versions if r[14] is None and r[15] is None]
    valid = next((r for r in live if r[11] == "ok"), None)
    if valid is None:
        return live[:1]
    failed_after = next((r for r in live if r[11] != "ok" and r[6] > valid[6]), None)
    return [valid] if failed_after is None else [valid, failed_after]
