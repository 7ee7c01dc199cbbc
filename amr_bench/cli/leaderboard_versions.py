"""Organiser commands on the result store: ``amr-bench leaderboard versions|withdraw|restore|remove-version|audit``.

Nothing here deletes silently: withdraw and restore only flag rows (the ranking skips withdrawn
ones), ``remove-version`` deletes one version for good, and each action is recorded in the
store's audit table with who, when and why.
"""

from __future__ import annotations

import getpass
from pathlib import Path

import typer

from amr_bench.cli.app import handles_errors
from amr_bench.cli.leaderboard import STORED_DB_OPTION, board, existing_store

SYSTEM_ARG = typer.Argument(..., help="TEAM/SYSTEM, or a SYSTEM name stored once.")
VERSION_OPTION = typer.Option(None, "--version", min=1, help="One version (default: the whole system).")
BENCHMARK_OPTION = typer.Option(None, "--benchmark", help="The benchmark of --version, when it has several.")
REASON_OPTION = typer.Option(..., "--reason", help="Why (kept in the audit table).")
BY_OPTION = typer.Option(None, "--by", help="Who does it (default: the login name).")


def _actor(by: str | None) -> str:
    if by is not None:
        return by
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


@board.command("versions", epilog="Example: amr-bench leaderboard versions Doe_UNI/Doe_UNI_task6_1 --db board.sqlite")
@handles_errors
def versions(
    system: str | None = typer.Argument(None, help="TEAM/SYSTEM or SYSTEM; every system if omitted."),
    db: Path | None = STORED_DB_OPTION,
) -> None:
    """List every stored version: status, time, file, package version that scored it, withdrawn or not."""
    from amr_bench.leaderboard.history import format_versions
    from amr_bench.leaderboard.store import Store

    with Store(existing_store(db), readonly=True) as store:
        team, name = store.find_system(system) if system else (None, None)
        print(format_versions(store.versions(team, name)))


@board.command(
    "withdraw",
    epilog='Example: amr-bench leaderboard withdraw Doe_UNI/Doe_UNI_task6_2 --version 3 --reason "late upload"',
)
@handles_errors
def withdraw(
    system: str = SYSTEM_ARG,
    version: int | None = VERSION_OPTION,
    benchmark: str | None = BENCHMARK_OPTION,
    reason: str = REASON_OPTION,
    by: str | None = BY_OPTION,
    db: Path | None = STORED_DB_OPTION,
) -> None:
    """Withdraw a system or one version: kept in the store, no longer ranked (undo with restore)."""
    from amr_bench.leaderboard.store import Store

    with Store(existing_store(db)) as store:
        team, name = store.find_system(system)
        change = store.withdraw(team, name, version=version, benchmark=benchmark, reason=reason, actor=_actor(by))
    print(f"{change.target}: {'withdrawn' if change.rows else 'already withdrawn, nothing changed'}")


@board.command(
    "restore",
    epilog='Example: amr-bench leaderboard restore Doe_UNI/Doe_UNI_task6_2 --version 3 --reason "appeal accepted"',
)
@handles_errors
def restore(
    system: str = SYSTEM_ARG,
    version: int | None = VERSION_OPTION,
    benchmark: str | None = BENCHMARK_OPTION,
    reason: str = REASON_OPTION,
    by: str | None = BY_OPTION,
    db: Path | None = STORED_DB_OPTION,
) -> None:
    """Undo a withdrawal of a system or of one version."""
    from amr_bench.leaderboard.store import Store

    db = existing_store(db)
    with Store(db) as store:
        team, name = store.find_system(system)
        change = store.restore(team, name, version=version, benchmark=benchmark, reason=reason, actor=_actor(by))
        system_withdrawn = any(v.system_withdrawn_at for v in store.versions(team, name))
    if change.rows:
        print(f"{change.target}: restored")
    elif version is not None and system_withdrawn:
        print(f"{change.target}: not withdrawn itself, nothing changed; the whole system {team}/{name} is withdrawn")
        print(f'  restore it: amr-bench leaderboard restore "{team}/{name}" --reason ... --db {db}')
    else:
        print(f"{change.target}: not withdrawn, nothing changed")


@board.command(
    "remove-version",
    epilog='Example: amr-bench leaderboard remove-version Doe_UNI/Doe_UNI_task6_2 --version 2 --reason "duplicate"',
)
@handles_errors
def remove_version(
    system: str = SYSTEM_ARG,
    version: int = typer.Option(..., "--version", min=1, help="The version to delete."),
    benchmark: str | None = BENCHMARK_OPTION,
    reason: str = REASON_OPTION,
    by: str | None = BY_OPTION,
    db: Path | None = STORED_DB_OPTION,
) -> None:
    """Delete one version (its scores and per-query rows) for good; the audit table keeps what was removed."""
    from amr_bench.leaderboard.store import Store

    with Store(existing_store(db)) as store:
        team, name = store.find_system(system)
        change = store.remove_version(team, name, version=version, benchmark=benchmark, reason=reason, actor=_actor(by))
    print(f"{change.target}: removed ({change.rows} stored result(s))")


@board.command("audit", epilog="Example: amr-bench leaderboard audit --db board.sqlite")
@handles_errors
def audit(db: Path | None = STORED_DB_OPTION) -> None:
    """Print the audit table: every withdraw, restore and remove, with who, when and why."""
    from amr_bench.leaderboard.history import format_audit
    from amr_bench.leaderboard.store import Store

    with Store(existing_store(db), readonly=True) as store:
        print(format_audit(store.audit_log()))
