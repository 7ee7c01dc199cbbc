"""Plain-text views of the store for organisers: the versions of each system and the audit table."""

from __future__ import annotations

from collections.abc import Sequence

from amr_bench.leaderboard.store import AuditEntry, VersionInfo


def _table(head: list[str], rows: list[list[str]]) -> str:
    lines = [head, *rows]
    widths = [max(len(row[c]) for row in lines) for c in range(len(head))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in lines)


def version_state(v: VersionInfo) -> str:
    """``ok``, ``invalid``... and ``withdrawn`` when the version or its whole system is withdrawn."""
    if v.system_withdrawn_at:
        return f"{v.status}, system withdrawn"
    return f"{v.status}, withdrawn" if v.withdrawn_at else v.status


def format_versions(versions: Sequence[VersionInfo]) -> str:
    if not versions:
        return "no stored results"
    head = ["team/system", "benchmark", "version", "state", "added", "R1@0.7", "file", "sha256", "scored by"]
    rows = []
    for v in versions:
        r1 = v.metrics.get("R1@0.7")
        rows.append(
            [
                f"{v.team}/{v.system}",
                v.benchmark,
                f"v{v.version}",
                version_state(v),
                v.added_at,
                "" if r1 is None else f"{100 * r1:.2f}",
                v.file_name,
                v.sha256[:12],
                v.scorer or "",
            ]
        )
    return _table(head, rows)


def format_audit(entries: Sequence[AuditEntry]) -> str:
    if not entries:
        return "no withdrawals, restores or removals recorded"
    head = ["when", "who", "action", "team/system", "benchmark", "version", "reason"]
    rows = [
        [
            a.at,
            a.actor,
            a.action,
            f"{a.team}/{a.system}",
            a.benchmark or "(all)",
            "(all)" if a.version is None else f"v{a.version}",
            a.reason,
        ]
        for a in entries
    ]
    return _table(head, rows)
