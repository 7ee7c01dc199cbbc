"""The parts of a benchmark page in the form of the DCASE results pages, from one ranked group.

- **team ranking**: each team's best system (its best-ranked valid entry), teams in that order;
- **system ranking**: rank, the DCASE label (linked to the technical report), system name,
  corresponding author and affiliation, the primary metric with its interval, the tie-breaks, and
  the development-set score the team reported in its meta file beside ours;
- **system characteristics**: features, sampling rate, method, training and external data,
  augmentation, ensemble size and parameters, read from the meta files (``system/description``,
  ``system/complexity``, ``system/external_datasets``);
- **BibTeX** for every technical report (one ``@techreport`` per team package).

Reference rows (the official baseline, controls such as the prior-only control) carry a badge:
``meta["reference"]`` when the system's stored metadata names its role, else "baseline" for a
system marked as the baseline. Systems that did not come from a DCASE package have no meta: their
cells are empty and their label is ``team/system``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from amr_bench.leaderboard.dcase_meta import SystemSummary, numbers_in, summarise
from amr_bench.leaderboard.exports import reference_label
from amr_bench.leaderboard.ranking import Ranking, Row

CHALLENGE = "DCASE 2026 Challenge Task 6"
YEAR = 2026
FEATURE_KEYS = ("audio_representation", "text_representation", "feature_extractor", "features")


@dataclass
class SystemLine:
    """One ranked entry as the DCASE pages show it."""

    row: Row
    label: str  # the DCASE label, or team/system
    name: str
    author: str
    affiliation: str
    report: str | None  # the site path of the technical report
    reported: float | None  # the team's development-set score for the primary metric, in %
    reported_key: str | None  # the meta key it came from (results / development_dataset / R1@0.7)
    reference: str | None  # badge of a reference row: "official baseline", "prior-only control", "baseline"
    summary: SystemSummary | None
    characteristics: dict[str, Any] = field(default_factory=dict)

    @property
    def synthetic(self) -> bool:
        return self.row.entry.synthetic


@dataclass
class TeamLine:
    rank: int
    shared: bool
    team: str
    best: SystemLine
    systems: int  # the team's ranked systems in this group


def system_lines(ranking: Ranking, reports: Mapping[tuple[str, str], str]) -> list[SystemLine]:
    """Every valid entry of ``ranking`` in rank order, with what the DCASE tables show of it."""
    out = []
    for row in ranking.rows:
        if not row.ok:
            continue
        e = row.entry
        summary = summarise(e.meta)
        corresponding = next((a for a in summary.authors if a.corresponding), None) if summary else None
        if corresponding is None and summary and summary.authors:
            corresponding = summary.authors[0]
        reported = reported_score(e.meta.get("results"), ranking.settings.metric)
        out.append(
            SystemLine(
                row=row,
                label=(summary.label if summary and summary.label else row.label),
                name=summary.name if summary else "",
                author=corresponding.name if corresponding else "",
                affiliation=corresponding.affiliations[0] if corresponding and corresponding.affiliations else "",
                report=reports.get((e.team, e.system)),
                reported=reported[0] if reported else None,
                reported_key=reported[1] if reported else None,
                reference=reference_label(e),
                summary=summary,
                characteristics=characteristics(summary),
            )
        )
    return out


def team_lines(lines: Sequence[SystemLine]) -> list[TeamLine]:
    """Each team's best system (``lines`` are in rank order); teams ranked by it, equal ranks shared."""
    best: dict[str, SystemLine] = {}
    count: dict[str, int] = {}
    for line in lines:
        team = line.row.entry.team
        best.setdefault(team, line)
        count[team] = count.get(team, 0) + 1
    out: list[TeamLine] = []
    for k, (team, line) in enumerate(best.items()):
        same = bool(out) and out[-1].best.row.rank == line.row.rank
        rank = out[-1].rank if same else k + 1
        if same:
            out[-1].shared = True
        out.append(TeamLine(rank, same, team, line, count[team]))
    return out


# ---- what the team reported ---------------------------------------------------------------


def _norm(key: str) -> str:
    return re.sub(r"[^a-z0-9.]", "", key.lower())


def reported_score(results: Any, metric: str) -> tuple[float, str] | None:
    """The development score the team reported for ``metric``, in %, and the key path it came from.

    Keys are matched loosely (``R1@0.7``, ``r1_0.7``, ``R1 @ 0.7``); a block named like the
    development set is preferred. Values are percent when any reported number exceeds 1 and
    fractions otherwise (the rule intake states in its notes).
    """
    if not isinstance(results, dict):
        return None
    numbers = [float(v) for v in numbers_in(results)]
    scale = 1.0 if numbers and max(numbers) > 1 else 100.0
    want = _norm(metric)
    found = []
    for path, value in _leaves(results, ()):
        if isinstance(value, (int, float)) and not isinstance(value, bool) and _norm(path[-1]) == want:
            dev = any("dev" in str(p).lower() or "valid" in str(p).lower() for p in path[:-1])
            found.append((not dev, len(path), path, float(value)))
    if not found:
        return None
    _, _, path, value = min(found, key=lambda f: (f[0], f[1]))
    return value * scale, " / ".join(("results", *map(str, path)))


def _leaves(value: Any, path: tuple[str, ...]) -> Iterable[tuple[tuple[str, ...], Any]]:
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _leaves(v, (*path, str(k)))
    elif path:
        yield path, value


# ---- system characteristics ---------------------------------------------------------------


def characteristics(summary: SystemSummary | None) -> dict[str, Any]:
    """The columns of the characteristics table (text, or None when the meta does not say)."""
    if summary is None:
        return {}
    d, c = summary.description, summary.complexity
    params = c.get("total_parameters")
    return {
        "features": _join(d.get(k) for k in FEATURE_KEYS),
        "sampling_rate": _text(d.get("input_sampling_rate")),
        "method": _text(_find(d, ("machine_learning_method", "architecture", "method"))),
        "training_data": _text(_find(d, ("training_data", "train_data", "training_dataset", "data"))),
        "external": _join(x.get("name") for x in summary.external_datasets) or _text(d.get("external_data_usage")),
        "augmentation": _text(d.get("data_augmentation")),
        "ensemble": _count(_find({**d, **c}, ("ensemble_size", "ensemble", "number_of_models", "models"))),
        "parameters": params if isinstance(params, int) and not isinstance(params, bool) else None,
    }


def _find(block: Mapping[str, Any], keys: Sequence[str]) -> Any:
    """The first of ``keys`` present, compared without case, spaces or underscores."""
    wanted = [_norm(k) for k in keys]
    by = {_norm(k): v for k, v in block.items()}
    return next((by[k] for k in wanted if k in by), None)


def _text(value: Any) -> str | None:
    if value is None or value == "" or value == []:
        return None
    if isinstance(value, list):
        return ", ".join(str(v) for v in value if v not in (None, ""))
    if isinstance(value, dict):
        return "; ".join(f"{k}: {_text(v)}" for k, v in value.items() if _text(v))
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def _join(values: Iterable[Any]) -> str | None:
    texts = [t for t in (_text(v) for v in values) if t]
    return "; ".join(texts) or None


def _count(value: Any) -> int | None:
    """An ensemble size written as a number or as text that is one (``"4"``); None otherwise."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


# ---- BibTeX -------------------------------------------------------------------------------

BIB_SPECIAL = {"\\": r"\textbackslash{}", "{": r"\{", "}": r"\}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#"}
BIB_SPECIAL |= {"_": r"\_", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}"}


def bib_escape(text: str) -> str:
    return "".join(BIB_SPECIAL.get(ch, ch if ch.isprintable() else " ") for ch in str(text))


def bibtex(lines: Sequence[SystemLine]) -> list[dict[str, str]]:
    """One ``@techreport`` per technical report (a team's package), in rank order of its best system.

    Every report a package named gets one, also when its PDF is not in the site (``report`` empty).
    """
    out: list[dict[str, str]] = []
    seen: set[tuple[str, str]] = set()
    for line in lines:
        meta = line.row.entry.meta
        report = meta.get("report")
        if not isinstance(report, str) or line.summary is None:
            continue
        which = (line.row.entry.team, report)
        if which in seen:
            continue
        seen.add(which)
        stem = report.split(".technical_report")[0]
        key = re.sub(r"[^A-Za-z0-9_:-]", "", stem) or "report"
        systems = [x for x in lines if (x.row.entry.team, x.row.entry.meta.get("report")) == which]
        names = [x.summary.name for x in systems if x.summary and x.summary.name]
        institution = line.affiliation.split(",")[0] if line.affiliation else ""
        fields = [
            ("author", _bib_authors(meta)),
            ("title", f"{{{bib_escape('; '.join(names))}}}" if names else ""),
            ("institution", bib_escape(institution)),
            ("year", str(YEAR)),
            ("type", f"{CHALLENGE} technical report"),
            ("note", "Systems " + ", ".join(bib_escape(x.label) for x in systems)),
        ]
        body = ",\n".join(f"  {k} = {{{v}}}" for k, v in fields if v)
        out.append({"key": key, "report": line.report or "", "text": f"@techreport{{{key},\n{body}\n}}"})
    return out


def _bib_authors(meta: Mapping[str, Any]) -> str:
    submission = meta.get("submission")
    authors = submission.get("authors") if isinstance(submission, dict) else None
    names = []
    for a in authors if isinstance(authors, list) else []:
        if not isinstance(a, dict):
            continue
        last, first = a.get("lastname"), a.get("firstname")
        if last:
            names.append(bib_escape(f"{last}, {first}" if first else str(last)))
    return " and ".join(names)
