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
from amr_bench.leaderboard.store import Entry
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
        "p_tier_start": row.p_tier_start,
        "p_at_resampling_floor": sorted(row.p_floor),
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


EVALUATION_SPLITS = ("test", "eval", "evaluation")


def counts_toward_mean_rank(benchmark: str) -> bool:
    """Evaluation and test benchmarks (``castella/test``, ``dcase2026/eval``, ``dcase2026-eval``) count
    toward the mean rank; development, validation and training splits never do."""
    last = benchmark.rsplit("/", 1)[-1].lower()
    return any(last == s or last.endswith(("-" + s, "_" + s, "." + s)) for s in EVALUATION_SPLITS)


def reference_label(entry: Entry) -> str | None:
    """The badge of a reference row: the role the stored metadata names (``"reference": "official
    baseline"``, ``"prior-only control"``), "baseline" for a system marked as the baseline, else None."""
    named = entry.meta.get("reference")
    if isinstance(named, str) and named.strip():
        return named.strip()
    return "baseline" if entry.baseline else None


@dataclass
class SystemSummary:
    """One system (team/system) across every benchmark group it entered."""

    team: str
    system: str
    ranks: dict[int, int] = field(default_factory=dict)  # ranking index -> rank there (valid entries only)
    synthetic: bool = False
    baseline: bool = False
    counted: set[int] = field(default_factory=set)  # the ranking indices that count toward the mean rank
    reference: str | None = None  # the badge of a reference system (see reference_label)

    @property
    def label(self) -> str:
        return f"{self.team}/{self.system}"

    @property
    def mean_rank(self) -> float | None:
        """Mean of the ranks on evaluation/test benchmarks (:func:`counts_toward_mean_rank`) only."""
        ranks = [v for k, v in self.ranks.items() if k in self.counted]
        return sum(ranks) / len(ranks) if ranks else None

    @property
    def ranked_anywhere(self) -> bool:
        return bool(self.ranks)


def system_summaries(rankings: Sequence[Ranking]) -> list[SystemSummary]:
    """Every system seen in ``rankings``, sorted by mean rank over the evaluation/test groups it entered,
    then by the number of groups, then by name.

    Each system's rank in a group is its ranked (valid) version's, also when a later version failed.
    A system without a mean rank (no evaluation/test entry, or every entry failed) comes after.
    """
    found: dict[tuple[str, str], SystemSummary] = {}
    for k, r in enumerate(rankings):
        for row in r.rows:
            e = row.entry
            s = found.setdefault((e.team, e.system), SystemSummary(e.team, e.system))
            s.synthetic = s.synthetic or e.synthetic
            s.baseline = s.baseline or e.baseline
            s.reference = s.reference or reference_label(e)
            if row.ok and row.rank is not None:
                s.ranks[k] = row.rank
                if counts_toward_mean_rank(r.group.benchmark):
                    s.counted.add(k)
    return sorted(
        found.values(),
        key=lambda s: (s.mean_rank is None, s.mean_rank or 0.0, not s.ranks, -len(s.ranks), s.team, s.system),
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
                "reference": s.reference,
                "mean_rank": s.mean_rank,
                "mean_rank_over": sorted(rankings[k].group.benchmark for k in s.counted),
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
                pvalue(r.p_next, "next" in r.p_floor),
            ]
        if has_baseline(ranking):
            is_base = ranking.baseline_label == r.label
            line.append("(baseline)" if is_base else pvalue(r.p_baseline, "baseline" in r.p_floor))
        lines.append(line)
    return lines


def pct(value: float | None, digits: int, hits: int | None = None, q: int = 0) -> str:
    if value is None:
        return ""
    text = f"{value * 100:.{digits}f}"
    return f"{text} ({hits}/{q})" if hits is not None and q else text


def pvalue(p: float | None, at_floor: bool = False) -> str:
    """A p-value as text: ``< 0.011`` when no resample was as extreme (the floor, Holm-multiplied:
    the true value is smaller), ``< 0.001`` below that, else three decimals."""
    if p is None:
        return ""
    if at_floor:
        return f"< {math.ceil(p * 1000 - 1e-9) / 1000:.3f}"
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


def format_table(ranking: Ranking, digits: int = 2) -> str:
    """The plain-text table ``leaderboard rank`` and ``demo`` print."""
    lines = [table_header(ranking), *table_rows(ranking, digits)]
    widths = [max(len(row[c]) for row in lines) for c in range(len(lines[0]))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in lines)


def group_title(ranking: Ranking) -> str:
    return f"{ranking.group.benchmark} (ground truth {ranking.group.gt_sha256[:12]}, {ranking.n_queries} queries)"


def tests_note(ranking: Ranking) -> str:
    """Why a tier can change where p(next) is not significant: the two columns test different pairs."""
    s = ranking.settings
    return (
        f"tier: each row against its tier's leader, Holm over the rows below that leader; p(next): each row "
        f"against the next one, Holm over the neighbouring pairs (same {s.test} test on {s.metric}). A new tier "
        f"can start where p(next) >= {s.alpha}: the gap to the tier's leader is larger than to the row above."
    )


def to_table(rankings: Sequence[Ranking]) -> str:
    return "\n\n".join(f"== {group_title(r)}\n{format_table(r)}" for r in rankings) + "\n"


def markdown_escape(text: str) -> str:
    """Text for a Markdown table cell (``$`` too: GitHub and many renderers start maths at it)."""
    out = text.replace("\\", "\\\\").replace("|", "\\|")
    for ch in "*_`[]<>#$~":
        out = out.replace(ch, "\\" + ch)
    return " ".join(out.split())


def to_markdown(rankings: Sequence[Ranking]) -> str:
    parts = []
    for r in rankings:
        head = table_header(r)
        lines = [f"### {markdown_escape(group_title(r))}", "", "| " + " | ".join(map(markdown_escape, head)) + " |"]
        lines.append("|" + "|".join("---" if k == 2 else "---:" for k in range(len(head))) + "|")
        lines += ["| " + " | ".join(markdown_escape(c) for c in row) + " |" for row in table_rows(r)]
        lines += ["", markdown_escape(tests_note(r))]
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
    "<": r"\textless{}",  # in the default OT1 encoding a bare < prints as an inverted exclamation mark
    ">": r"\textgreater{}",
    "|": r"\textbar{}",
}


def latex_escape(text: str) -> str:
    return "".join(LATEX_SPECIAL.get(ch, ch if ch.isprintable() else " ") for ch in text)


def latex_label(ranking: Ranking) -> str:
    """``tab:amr-<benchmark>``: letters, digits and dashes only (safe in ``\\label`` and ``\\ref``)."""
    text = "".join(c if c.isascii() and c.isalnum() else "-" for c in ranking.group.benchmark.lower())
    return "tab:amr-" + "-".join(p for p in text.split("-") if p) + "-" + ranking.group.gt_sha256[:6]


def latex_caption(ranking: Ranking, compact: bool) -> str:
    """The caption: what is ranked, by what, and what the brackets and tiers mean (escaped for LaTeX)."""
    s = ranking.settings
    level = int(s.level * 100)
    parts = [
        f"{ranking.group.benchmark}: language-based audio moment retrieval, ranked by {s.metric} (%), "
        f"then {', then '.join(s.tie_breaks)}; {ranking.n_queries} queries"
    ]
    if compact:
        parts.append(f"{level}% bootstrap interval of {s.metric} in brackets")
    else:
        test = "paired bootstrap" if s.test == "bootstrap" else "sign-flip randomisation"
        parts.append(
            f"{level}% bootstrap interval ({s.resamples} resamples, seed {s.seed}); tier and p-values: "
            f"{test} test on {s.metric}, Holm-corrected; a tier tests each row against its tier's leader, "
            "p(next) against the next row, so a tier can change where p(next) is not significant"
        )
    excluded = [w for w, on in (("failed", ranking.excluded_invalid), ("synthetic", ranking.excluded_synthetic)) if on]
    if excluded:
        parts.append(f"{' and '.join(excluded)} entries left out")
    return latex_escape("; ".join(parts)) + "."


def compact_rows(ranking: Ranking, digits: int = 1) -> list[list[str]]:
    """Rank, system, primary metric with its interval, the tie-breaks: what fits one column of a paper."""
    s = ranking.settings
    lines = []
    for r in ranking.rows:
        if not r.ok:
            lines.append(["--", r.label, r.entry.status, *[""] * len(s.tie_breaks)])
            continue
        v, ci = r.values.get(s.metric), r.ci.get(s.metric)
        main = pct(v, digits) + (f" [{ci[0] * 100:.{digits}f}, {ci[1] * 100:.{digits}f}]" if ci else "")
        rank = f"{r.rank}=" if r.shared_rank else str(r.rank)
        lines.append([rank, r.label, main, *[pct(r.values.get(t), digits) for t in s.tie_breaks]])
    return lines


def to_latex(rankings: Sequence[Ranking], compact: bool = False) -> str:
    """One ``table`` float per group, with caption and label, ready for ``\\input`` in a paper.

    The rules need ``\\usepackage{booktabs}`` (said in a comment above each table). ``compact``
    keeps rank, system, the primary metric with its interval and the tie-breaks, in a footnote-size
    font: it fits one column of a two-column template (IEEE, the DCASE workshop's).
    """
    parts = []
    for r in rankings:
        if compact:
            head = ["Rank", "System", f"{r.settings.metric} [CI]", *r.settings.tie_breaks]
            rows = compact_rows(r)
            cols = "rlr" + "r" * len(r.settings.tie_breaks)
        else:
            head = table_header(r)
            rows = table_rows(r)
            cols = "".join("l" if k == 2 else "r" for k in range(len(head)))
        lines = [
            f"% {latex_escape(group_title(r))}",
            "% Needs \\usepackage{booktabs} in the preamble (\\toprule, \\midrule, \\bottomrule).",
            "% Written by amr-bench leaderboard rank --format latex" + (" --compact" if compact else "") + ".",
            "\\begin{table}[t]",
            "\\centering",
        ]
        if compact:
            lines += ["\\footnotesize", "\\setlength{\\tabcolsep}{3pt}"]
        lines += [
            f"\\caption{{{latex_caption(r, compact)}}}",
            f"\\label{{{latex_label(r)}}}",
            f"\\begin{{tabular}}{{{cols}}}",
            "\\toprule",
            " & ".join(latex_escape(h) for h in head) + r" \\",
            "\\midrule",
        ]
        lines += [" & ".join(latex_escape(c) for c in row) + r" \\" for row in rows]
        lines += ["\\bottomrule", "\\end{tabular}", "\\end{table}"]
        parts.append("\n".join(lines))
    return "\n\n".join(parts) + "\n"


def render_rankings(rankings: Sequence[Ranking], settings: RankSettings, fmt: str, compact: bool = False) -> str:
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
        return to_latex(rankings, compact)
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
