"""Machine-readable exports of the rankings: JSON, CSV, Markdown, LaTeX and the terminal table.

All formats are built from one list of *cells* (:func:`ranking_cells`): one per entry of a ranked
group, with the raw (unrounded) values, the bootstrap intervals, the rank, tier and p-values, and
the identity of the file that was scored. ``leaderboard rank --format`` prints them; the site
writes ``results.json`` and one CSV per benchmark group beside its pages.

CSV text cells that a spreadsheet would run as a formula (starting with ``= + - @``, a tab or a
carriage return) are prefixed with ``'``; numbers are written as numbers.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from amr_bench import __version__
from amr_bench.errors import UsageError, did_you_mean
from amr_bench.leaderboard.ranking import Ranking, RankSettings, Row
from amr_bench.outputs import spreadsheet_safe

Format = Literal["table", "json", "csv", "markdown", "latex"]
FORMATS: tuple[str, ...] = ("table", "json", "csv", "markdown", "latex")
EXPORT_VERSION = "amr-bench-results-v1"


# ---- the data ---------------------------------------------------------------------------


def finite(value: float | None) -> float | None:
    """JSON has no NaN or infinity: those become ``null``."""
    if value is None or not math.isfinite(value):
        return None
    return float(value)


def shown_metrics(settings: RankSettings) -> list[str]:
    """The metrics every table shows, in order: the primary, its tie-breaks, then the other CI metrics."""
    return list(dict.fromkeys((settings.metric, *settings.tie_breaks, *settings.ci_metrics)))


def row_cell(ranking: Ranking, row: Row) -> dict[str, Any]:
    e = row.entry
    return {
        "benchmark": ranking.group.benchmark,
        "ground_truth_sha256": ranking.group.gt_sha256,
        "team": e.team,
        "system": e.system,
        "label": row.label,
        "status": e.status,
        "rank": row.rank,
        "shared_rank": row.shared_rank,
        "tie_broken_by": row.tie_broken_by,
        "tie_order_note": row.tie_note,
        "tier": row.tier,
        "values": {k: finite(v) for k, v in sorted(row.values.items())},
        "ci": {k: [finite(lo), finite(hi)] for k, (lo, hi) in sorted(row.ci.items())},
        "hits": dict(sorted(row.hits.items())),
        "p_next": row.p_next,
        "p_baseline": row.p_baseline,
        "p_leader": row.p_leader,
        "synthetic": e.synthetic,
        "baseline": e.baseline,
        "version": e.version,
        "file_name": e.file_name,
        "size": e.size,
        "sha256": e.sha256,
        "added_at": e.added_at,
        "problems": list(e.problems),
    }


def ranking_cells(ranking: Ranking) -> list[dict[str, Any]]:
    return [row_cell(ranking, row) for row in ranking.rows]


def group_document(ranking: Ranking) -> dict[str, Any]:
    first = next((row.entry.signature for row in ranking.rows), {})
    return {
        "benchmark": ranking.group.benchmark,
        "ground_truth_sha256": ranking.group.gt_sha256,
        "queries": ranking.n_queries,
        "scorer_signature": {k: v for k, v in first.items() if k != "submission_sha256"},
        "metric_signature": json.loads(ranking.group.metric_signature),
        "ranking_signature": ranking.signature(),
        "baseline": ranking.baseline_label,
        "notes": list(ranking.notes),
        "entries": ranking_cells(ranking),
    }


@dataclass
class SystemSummary:
    """One system (team/system) across every benchmark group it entered."""

    team: str
    system: str
    ranks: dict[int, int] = field(default_factory=dict)  # ranking index -> rank there (valid entries only)
    synthetic: bool = False
    baseline: bool = False

    @property
    def label(self) -> str:
        return f"{self.team}/{self.system}"

    @property
    def mean_rank(self) -> float | None:
        return sum(self.ranks.values()) / len(self.ranks) if self.ranks else None


def system_summaries(rankings: Sequence[Ranking]) -> list[SystemSummary]:
    """Every system seen in ``rankings``, sorted by mean rank over the groups it entered, then by name.

    A system whose entries all failed validation has no mean rank and comes last.
    """
    found: dict[tuple[str, str], SystemSummary] = {}
    for k, r in enumerate(rankings):
        for row in r.rows:
            e = row.entry
            s = found.setdefault((e.team, e.system), SystemSummary(e.team, e.system))
            s.synthetic = s.synthetic or e.synthetic
            s.baseline = s.baseline or e.baseline
            if row.ok and row.rank is not None:
                s.ranks[k] = row.rank
    return sorted(
        found.values(),
        key=lambda s: (s.mean_rank is None, s.mean_rank or 0.0, -len(s.ranks), s.team, s.system),
    )


def results_document(rankings: Sequence[Ranking], settings: RankSettings) -> dict[str, Any]:
    """Everything the site shows, as data (``results.json``)."""
    return {
        "format": EXPORT_VERSION,
        "generator": f"amr-bench {__version__}",
        "ranking_settings": settings.signature(),
        "benchmarks": [group_document(r) for r in rankings],
        "systems": [
            {
                "team": s.team,
                "system": s.system,
                "mean_rank": s.mean_rank,
                "benchmarks_entered": len(s.ranks),
                "ranks": {
                    rankings[k].group.benchmark + "@" + rankings[k].group.gt_sha256[:12]: v for k, v in s.ranks.items()
                },
            }
            for s in system_summaries(rankings)
        ],
    }


def to_json(rankings: Sequence[Ranking], settings: RankSettings) -> str:
    return json.dumps(results_document(rankings, settings), indent=1, sort_keys=False, ensure_ascii=False) + "\n"


# ---- CSV ---------------------------------------------------------------------------------


def safe_cell(value: Any) -> Any:
    """A CSV cell that a spreadsheet shows as text, never runs as a formula."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (int, float)):
        return "" if isinstance(value, float) and not math.isfinite(value) else repr(value)
    return spreadsheet_safe(str(value))


def csv_header(settings: RankSettings) -> list[str]:
    head = ["benchmark", "ground_truth_sha256", "rank", "shared_rank", "tier", "team", "system", "status"]
    for m in shown_metrics(settings):
        head += [m, f"{m} ci_low", f"{m} ci_high"]
    return [*head, "p_next", "p_baseline", "synthetic", "baseline", "version", "file_name", "sha256", "added_at"]


def csv_rows(ranking: Ranking) -> list[list[Any]]:
    out = []
    for c in ranking_cells(ranking):
        line: list[Any] = [c["benchmark"], c["ground_truth_sha256"], c["rank"], c["shared_rank"], c["tier"]]
        line += [c["team"], c["system"], c["status"]]
        for m in shown_metrics(ranking.settings):
            lo, hi = c["ci"].get(m, [None, None])
            line += [c["values"].get(m), lo, hi]
        line += [c["p_next"], c["p_baseline"], c["synthetic"], c["baseline"], c["version"]]
        line += [c["file_name"], c["sha256"], c["added_at"]]
        out.append(line)
    return out


def to_csv(rankings: Sequence[Ranking], settings: RankSettings) -> str:
    buf = io.StringIO(newline="")
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(csv_header(settings))
    for r in rankings:
        writer.writerows([safe_cell(v) for v in line] for line in csv_rows(r))
    return buf.getvalue()


# ---- tables (terminal, Markdown, LaTeX) --------------------------------------------------


def table_header(ranking: Ranking) -> list[str]:
    s = ranking.settings
    head = ["rank", "tier", "team/system", s.metric, f"{int(s.level * 100)}% CI", *s.tie_breaks, "p(next)"]
    return [*head, "p(baseline)"] if has_baseline(ranking) else head


def has_baseline(ranking: Ranking) -> bool:
    return ranking.baseline_label is not None or ranking.settings.baseline is not None


def table_rows(ranking: Ranking, digits: int = 2) -> list[list[str]]:
    """The cells of the printed table, as text (failed entries last, their status in capitals)."""
    s = ranking.settings
    m = s.metric
    lines = []
    for r in ranking.rows:
        if not r.ok:
            status = f"{r.entry.status.upper()} (v{r.entry.version})"
            line = ["-", "-", r.label, status, "", *[""] * len(s.tie_breaks), ""]
        else:
            ci = r.ci.get(m)
            line = [
                f"{r.rank}=" if r.shared_rank else str(r.rank),
                str(r.tier),
                r.label,
                pct(r.values.get(m), digits, r.hits.get(m), ranking.n_queries),
                f"[{ci[0] * 100:.{digits}f}, {ci[1] * 100:.{digits}f}]" if ci else "",
                *[pct(r.values.get(t), digits) for t in s.tie_breaks],
                pvalue(r.p_next),
            ]
        if has_baseline(ranking):
            is_base = ranking.baseline_label == r.label
            line.append("(baseline)" if is_base else pvalue(r.p_baseline))
        lines.append(line)
    return lines


def pct(value: float | None, digits: int, hits: int | None = None, q: int = 0) -> str:
    if value is None:
        return ""
    text = f"{value * 100:.{digits}f}"
    return f"{text} ({hits}/{q})" if hits is not None and q else text


def pvalue(p: float | None) -> str:
    return "" if p is None else f"{p:.3f}"


def format_table(ranking: Ranking, digits: int = 2) -> str:
    """The plain-text table ``leaderboard rank`` and ``demo`` print."""
    lines = [table_header(ranking), *table_rows(ranking, digits)]
    widths = [max(len(row[c]) for row in lines) for c in range(len(lines[0]))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in lines)


def group_title(ranking: Ranking) -> str:
    return f"{ranking.group.benchmark} (ground truth {ranking.group.gt_sha256[:12]}, {ranking.n_queries} queries)"


def to_table(rankings: Sequence[Ranking]) -> str:
    return "\n\n".join(f"== {group_title(r)}\n{format_table(r)}" for r in rankings) + "\n"


def markdown_escape(text: str) -> str:
    out = text.replace("\\", "\\\\").replace("|", "\\|")
    for ch in "*_`[]<>#":
        out = out.replace(ch, "\\" + ch)
    return " ".join(out.split())


def to_markdown(rankings: Sequence[Ranking]) -> str:
    parts = []
    for r in rankings:
        head = table_header(r)
        lines = [f"### {markdown_escape(group_title(r))}", "", "| " + " | ".join(map(markdown_escape, head)) + " |"]
        lines.append("|" + "|".join("---" if k == 2 else "---:" for k in range(len(head))) + "|")
        lines += ["| " + " | ".join(markdown_escape(c) for c in row) + " |" for row in table_rows(r)]
        parts.append("\n".join(lines))
    return "\n\n".join(parts) + "\n"


LATEX_SPECIAL = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
}


def latex_escape(text: str) -> str:
    return "".join(LATEX_SPECIAL.get(ch, ch if ch.isprintable() else " ") for ch in text)


def to_latex(rankings: Sequence[Ranking]) -> str:
    """One ``tabular`` per group (booktabs rules), ready for ``\\input`` in a paper or report."""
    parts = []
    for r in rankings:
        head = table_header(r)
        cols = "".join("l" if k == 2 else "r" for k in range(len(head)))
        lines = [
            f"% {latex_escape(group_title(r))}",
            f"\\begin{{tabular}}{{{cols}}}",
            "\\toprule",
            " & ".join(latex_escape(h) for h in head) + r" \\",
            "\\midrule",
        ]
        lines += [" & ".join(latex_escape(c) for c in row) + r" \\" for row in table_rows(r)]
        lines += ["\\bottomrule", "\\end{tabular}"]
        parts.append("\n".join(lines))
    return "\n\n".join(parts) + "\n"


def render_rankings(rankings: Sequence[Ranking], settings: RankSettings, fmt: str) -> str:
    """``leaderboard rank --format FMT``: the rankings as text in one of :data:`FORMATS`."""
    if fmt == "table":
        return to_table(rankings)
    if fmt == "json":
        return to_json(rankings, settings)
    if fmt == "csv":
        return to_csv(rankings, settings)
    if fmt == "markdown":
        return to_markdown(rankings)
    if fmt == "latex":
        return to_latex(rankings)
    raise UsageError(f"unknown --format {fmt!r}; use one of {', '.join(FORMATS)}")


def baseline_problem(rankings: Sequence[Ranking], baseline: str | None) -> str | None:
    """When ``--baseline`` names no entry of any group: a message that lists the valid names."""
    if not baseline or any(r.baseline_label is not None for r in rankings):
        return None
    labels = sorted({row.label for r in rankings for row in r.rows if row.ok})
    shown = ", ".join(labels[:30]) + (f" (and {len(labels) - 30} more)" if len(labels) > 30 else "")
    return (
        f"--baseline {baseline!r} matches no valid entry{did_you_mean(baseline, labels)}; "
        f"valid entries (TEAM/SYSTEM, or SYSTEM alone): {shown}"
    )
