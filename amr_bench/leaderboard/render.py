"""The static leaderboard site, from the result store.

Pages: ``index.html`` (the cross-dataset matrix: one row per system, one column group per
benchmark with the primary metric, its interval and the rank there, and the mean rank over the
benchmarks a system entered), one page per dataset (every ranked group of it, with plots), and one
page per system (DCASE metadata, technical report, every metric at every θ, breakdowns, version
history and a per-query explorer). Beside them: ``results.json`` and one CSV per benchmark group
(:mod:`amr_bench.leaderboard.exports`) and the technical reports under ``reports/``.

Every file name is derived, never taken from input: the built-in datasets have fixed names; any
other benchmark or system page is ``<prefix>-<slug>-<16 hex of sha256(name)>.html``, so a
benchmark called ``index``, ``../x`` or ``a/b`` cannot overwrite another file, and two names
that still came to the same file would stop the render (checked) rather than share a page.

Pages are rendered by jinja2 with autoescaping (team and system names are untrusted), carry their
own CSS, a few lines of vanilla JavaScript (column sorting on raw ``data-v`` values, failed rows
always last; the explorer) and inline SVG, and make no external request: they work from
``file://``. Rendering is deterministic: the same store and settings give byte-identical files.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2

from amr_bench import __version__
from amr_bench.errors import AmrBenchError, UsageError
from amr_bench.leaderboard import dcase_page, exports, systems
from amr_bench.leaderboard.plots import (
    LENGTH_BUCKETS,
    forest,
    length_plot,
    map_plot,
    param_scatter,
    span_text,
)
from amr_bench.leaderboard.ranking import Ranking, RankSettings, Row, rank_store
from amr_bench.leaderboard.store import PackageInfo, Store, SystemInfo

TEMPLATES = Path(__file__).resolve().parent / "templates"
# Pages in this order; a benchmark belongs to the first dataset key its name starts with.
# The challenge's evaluation set first; within a page, evaluation/test groups come before the others.
PAGES: tuple[tuple[str, str], ...] = (
    ("dcase2026", "DCASE 2026 eval"),
    ("castella", "CASTELLA"),
    ("clotho-moment", "Clotho-Moment"),
    ("unav100-subset", "UnAV-100"),
    ("tut2017", "TUT Sound Events 2017"),
    ("simulated", "Simulated"),
)
SPLIT_ORDER = ("eval", "evaluation", "test", "val", "validation", "dev", "development", "train")
BUILTIN = {key for key, _ in PAGES}
CHALLENGE_PAGE = PAGES[0][0]
THRESHOLDS = systems.THRESHOLDS
PLOTTED = 8  # systems drawn in the multi-system plots (the top ranks)
RESULTS_JSON = "results.json"
DEFAULT_SETTINGS = RankSettings()
CSV_DIR = "csv"


def page_key(benchmark: str) -> str:
    for key, _ in PAGES:
        if benchmark == key or benchmark.startswith((key + "/", key + "-", key + "_")):
            return key
    head = benchmark.split("/")[0]
    return "".join(c if c.isalnum() or c in "-_" else "-" for c in head) or "other"


def slug(text: str, limit: int = 40) -> str:
    """Lower-case ASCII letters, digits and single dashes (may be empty)."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:limit].strip("-")


def safe_name(prefix: str, name: str, ext: str, readable: str | None = None) -> str:
    """``prefix-slug-hash.ext``: readable, unique per ``name`` and never a path or a reserved name.

    The slug is made from ``readable`` (default ``name``); the hash always from ``name``.
    """
    digest = hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()[:16]
    return "-".join(p for p in (prefix, slug(name if readable is None else readable), digest) if p) + "." + ext


def system_file(team: str, system: str) -> str:
    """The page of one system; team ``a/b`` with system ``c`` and team ``a`` with system ``b/c`` differ."""
    return safe_name("system", json.dumps([team, system], ensure_ascii=False), "html", readable=f"{team} {system}")


def group_csv(r: Ranking) -> str:
    key = json.dumps([r.group.benchmark, r.group.gt_sha256, r.group.metric_signature], ensure_ascii=False)
    return f"{CSV_DIR}/" + safe_name("", key, "csv", readable=r.group.benchmark)


@dataclass
class Page:
    key: str
    title: str
    rankings: list[Ranking] = field(default_factory=list)
    name: str = ""  # the benchmark prefix the page was made for (user benchmarks)

    @property
    def file(self) -> str:
        return f"{self.key}.html" if self.key in BUILTIN else safe_name("benchmark", self.name or self.key, "html")


def build_pages(rankings: Sequence[Ranking]) -> list[Page]:
    pages = {key: Page(key, title) for key, title in PAGES}
    for r in sorted(rankings, key=group_order):
        key = page_key(r.group.benchmark)
        if key not in BUILTIN:
            head = r.group.benchmark.split("/")[0]
            key = "user:" + head
            pages.setdefault(key, Page(key, head or "(unnamed)", name=head))
        pages[key].rankings.append(r)
    return list(pages.values())


def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=True,  # every template, whatever its extension
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["pct"] = pct
    env.filters["num"] = num
    env.filters["pval"] = pval
    env.filters["num100"] = lambda v: num(None if v is None else v / 100)
    env.filters["short"] = lambda s, n=12: str(s)[:n]
    env.filters["metatext"] = meta_text
    env.filters["metarows"] = meta_rows
    env.globals["system_file"] = system_file
    env.globals["reference_label"] = exports.reference_label
    return env


def render_site(
    store: Store,
    out_dir: str | Path,
    settings: RankSettings = DEFAULT_SETTINGS,
    rankings: Sequence[Ranking] | None = None,
    ground_truths: Sequence[Path] = (),
) -> list[Path]:
    """Rank every group and write the site; returns the files, ``index.html`` first.

    ``ground_truths`` names ground-truth files beyond the bundled splits (matched by hash) whose
    query texts and windows the per-query explorer may show.
    """
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise UsageError(f"{out} exists and is not a folder; the site needs a folder of its own")
    out.mkdir(parents=True, exist_ok=True)
    rankings = list(rankings) if rankings is not None else rank_store(store, settings)
    rankings.sort(key=group_order)
    pages = build_pages(rankings)
    summaries = exports.system_summaries(rankings)
    off_board = _off_board(store, summaries)
    env = environment()
    anchors = {id(r): _anchor(r) for r in rankings}
    page_of = {id(r): p for p in pages for r in p.rankings}
    reports = _site_reports(store, out)
    common = {
        "pages": pages,
        # the challenge's evaluation page always has a tab (it says how to add results while empty)
        "nav": [p for p in pages if p.rankings or p.key == CHALLENGE_PAGE],
        "version": __version__,
        "settings_json": _json(settings.signature()),
        "root": "",
    }
    written = []
    matrix = _matrix(rankings, summaries, page_of, anchors)
    index = env.get_template("index.html").render(
        **common,
        current=None,
        title="amr-bench leaderboard",
        matrix=matrix,
        empty=[p for p in pages if not p.rankings],
        csvs=[(r.group.benchmark, group_csv(r)) for r in rankings],
        off_board=[(s, system_file(s.team, s.system)) for s in off_board],
        results_json=RESULTS_JSON,
    )
    written.append(_write(out / "index.html", index))
    for page in pages:
        html = env.get_template("page.html").render(
            **common,
            current=page.key,
            title=f"{page.title} — amr-bench leaderboard",
            page=page,
            sections=[_section(r, reports) for r in page.rankings],
            n_synthetic=sum(row.ok and row.entry.synthetic for r in page.rankings for row in r.rows),
        )
        written.append(_write(out / page.file, html))
    truths = systems.GroundTruths(ground_truths)
    infos = {(i.team, i.system): i for i in store.systems_with_metadata()}
    ranked_ids = {row.entry.submission_id for r in rankings for row in r.rows if row.ok}
    for s in summaries + off_board:
        view = _system_view(
            store, s, infos.get((s.team, s.system)), rankings, ranked_ids, page_of, anchors, truths, out
        )
        html = env.get_template("system.html").render(
            **common, current="system", title=f"{s.label} — amr-bench leaderboard", s=view
        )
        written.append(_write(out / system_file(s.team, s.system), html))
    written.append(_write(out / RESULTS_JSON, exports.to_json(rankings, settings)))
    for r in rankings:
        written.append(_write(out / group_csv(r), exports.to_csv([r], settings)))
    clashes = sorted(str(p) for p, n in Counter(written).items() if n > 1)
    if clashes:  # two systems or groups whose derived file names collide: never one page for both
        raise AmrBenchError(f"two pages were given the same file name, nothing was published: {', '.join(clashes)}")
    return written


def group_order(r: Ranking) -> tuple[int, int, str, str, str]:
    """Page order, then evaluation/test splits before validation and training ones, then by name."""
    split = r.group.benchmark.rsplit("/", 1)[-1].lower()
    rank = next((k for k, name in enumerate(SPLIT_ORDER) if split == name or split.endswith("-" + name)), 3)
    g = r.group
    return (
        _page_order(r),
        0 if exports.counts_toward_mean_rank(g.benchmark) else rank + 1,
        g.benchmark,
        g.gt_sha256,
        g.metric_signature,
    )


def _page_order(r: Ranking) -> int:
    key = page_key(r.group.benchmark)
    return next((k for k, (name, _) in enumerate(PAGES) if name == key), len(PAGES))


def _write(path: Path, text: str | bytes) -> Path:
    """Through a temporary file in the same folder, then a rename: never a half-written page."""
    from amr_bench.outputs import write_bytes_atomic

    path.parent.mkdir(parents=True, exist_ok=True)
    return write_bytes_atomic(path, text.encode("utf-8") if isinstance(text, str) else text)


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, indent=1, ensure_ascii=False)


def script_json(value: Any) -> str:
    """JSON that is safe inside ``<script type="application/json">`` (no ``</script>``, no ``<!--``)."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


# ---- the cross-dataset matrix ------------------------------------------------------------


def _matrix(
    rankings: Sequence[Ranking],
    summaries: Sequence[exports.SystemSummary],
    page_of: dict[int, Page],
    anchors: dict[int, str],
) -> dict[str, Any]:
    names = [r.group.benchmark for r in rankings]
    # the primary benchmark: the first evaluation/test group in page order (the challenge's eval set first)
    primary = next((k for k, r in enumerate(rankings) if exports.counts_toward_mean_rank(r.group.benchmark)), 0)
    columns = []
    for k, r in enumerate(rankings):
        ambiguous = names.count(r.group.benchmark) > 1
        columns.append(
            {
                "benchmark": r.group.benchmark,
                "gt": r.group.gt_sha256[:8] if ambiguous else "",
                "href": f"{page_of[id(r)].file}#{anchors[id(r)]}",
                "metric": r.settings.metric,
                "queries": r.n_queries,
                "entries": sum(row.ok for row in r.rows),
                "counted": exports.counts_toward_mean_rank(r.group.benchmark),
                "primary": k == primary,
            }
        )
    cells: dict[tuple[str, str], dict[int, Row]] = {}
    for k, r in enumerate(rankings):
        for row in r.rows:
            mine = cells.setdefault((row.entry.team, row.entry.system), {})
            if k not in mine or (row.ok and not mine[k].ok):
                mine[k] = row  # the ranked version; a failed attempt after it never replaces it
    later_failed = {
        (row.entry.team, row.entry.system)
        for k, r in enumerate(rankings)
        for row in r.rows
        if not row.ok and cells[(row.entry.team, row.entry.system)][k] is not row
    }
    rows = []
    for i, s in enumerate(summaries):
        mine = cells.get((s.team, s.system), {})
        rows.append(
            {
                "i": i,
                "s": s,
                "file": system_file(s.team, s.system),
                "cells": [mine.get(k) for k in range(len(rankings))],
                "later_failed": (s.team, s.system) in later_failed,
            }
        )

    def by_primary(line: dict[str, Any]) -> tuple[Any, ...]:
        cell: Row | None = line["cells"][primary] if rankings else None
        rank = cell.rank if cell is not None and cell.ok else None
        s: exports.SystemSummary = line["s"]
        return (rank is None, rank or 0, s.mean_rank is None, s.mean_rank or 0.0, line["i"])

    rows.sort(key=by_primary)
    for i, line in enumerate(rows):
        line["i"] = i  # data-i: the default (primary benchmark) order, restored on ties when sorting
    metric = rankings[0].settings.metric if rankings else "R1@0.7"
    return {
        "columns": columns,
        "rows": rows,
        "metric": metric,
        "level": int(rankings[0].settings.level * 100) if rankings else 95,
        "primary": primary,
        "counted": [c["benchmark"] for c in columns if c["counted"]],
    }


# ---- system pages ------------------------------------------------------------------------


def _off_board(store: Store, summaries: Sequence[exports.SystemSummary]) -> list[exports.SystemSummary]:
    """Stored systems with nothing on the leaderboard (withdrawn, or every version withdrawn or removed).

    Their pages keep the record (version history, the organisers' actions).
    """
    listed = {(s.team, s.system) for s in summaries}
    live = {(v.team, v.system) for v in store.versions() if v.withdrawn_at is None and v.system_withdrawn_at is None}
    return [
        exports.SystemSummary(i.team, i.system, synthetic=i.synthetic, baseline=i.baseline)
        for i in store.systems_with_metadata()
        if (i.team, i.system) not in listed and (i.withdrawn_at is not None or (i.team, i.system) not in live)
    ]


def _system_view(
    store: Store,
    s: exports.SystemSummary,
    info: SystemInfo | None,
    rankings: Sequence[Ranking],
    ranked_ids: set[int],
    page_of: dict[int, Page],
    anchors: dict[int, str],
    truths: systems.GroundTruths,
    out: Path,
) -> dict[str, Any]:
    meta = info.meta if info is not None else {}
    results = []
    for r in rankings:
        mine = [x for x in r.rows if x.entry.team == s.team and x.entry.system == s.system]
        if not mine:
            continue
        row = mine[0]  # the ranked version; a failed attempt after it comes second
        pq = None
        if row.ok:
            gt = truths.get(r.group.gt_sha256)
            data = systems.explorer_rows(store, row.entry, gt)
            if data is not None:
                pq = {"json": script_json(data), "n": len(data), "has_gt": gt is not None}
        results.append(
            {
                "ranking": r,
                "row": row,
                "href": f"{page_of[id(r)].file}#{anchors[id(r)]}",
                "anchor": "r-" + anchors[id(r)],
                "grid": _theta_grid(row) if row.ok else [],
                "breakdown": _breakdown(row) if row.ok else [],
                "counts": systems.count_breakdown(store, row.entry) if row.ok else [],
                "explorer": pq,
                "later_failed": [x.entry for x in mine[1:] if not x.ok],
            }
        )
    return {
        "summary": s,
        "dcase": info.summary if info is not None else None,
        "note": meta.get("description") if isinstance(meta.get("description"), str) else None,
        "withdrawn_at": info.withdrawn_at if info is not None else None,
        "raw_meta": meta,
        "report": _report(store, info.package if info is not None else None, out),
        "results": results,
        "history": systems.version_history(store, s.team, s.system, ranked_ids),
        "actions": systems.system_actions(store, s.team, s.system)[::-1],
        "thresholds": THRESHOLDS,
        "primary": rankings[0].settings.metric if rankings else "R1@0.7",
    }


def _site_reports(store: Store, out: Path) -> dict[tuple[str, str], str]:
    """``(team, system) -> site path`` of every technical report copied into the site."""
    found: dict[tuple[str, str], str] = {}
    done: dict[int, str | None] = {}
    for info in store.systems_with_metadata():
        if info.package is None:
            continue
        if info.package.package_id not in done:
            report = _report(store, info.package, out)
            done[info.package.package_id] = report["file"] if report else None
        file = done[info.package.package_id]
        if file:
            found[(info.team, info.system)] = file
    return found


def _report(store: Store, package: PackageInfo | None, out: Path) -> dict[str, Any] | None:
    """The package's technical report, copied into the site when its bytes match the hash recorded at intake."""
    if package is None:
        return None
    report: dict[str, Any] = {"name": package.report_name, "file": None, "package": package}
    stored = store.package_report(package.package_id)
    if stored is not None and hashlib.sha256(stored[1]).hexdigest() == package.report_sha256:
        rel = f"{systems.REPORTS_DIR}/" + safe_name("report", f"{package.report_sha256}/{package.report_name}", "pdf")
        _write(out / rel, stored[1])
        report["file"] = rel
    return report


def _theta_grid(row: Row) -> list[dict[str, Any]]:
    """Every metric family at every θ: R1, R5 and mAP (rows) by threshold (columns) plus the average."""
    out = []
    for fam, label in (("R1", "R1@θ"), ("R5", "R5@θ"), ("mAP", "mAP@θ")):
        vals = [row.values.get(f"{fam}@{t}") for t in THRESHOLDS]
        if all(v is None for v in vals):
            continue
        avg = row.values.get("mAP") if fam == "mAP" else None
        out.append({"label": label, "cells": vals, "average": avg})
    return out


def _breakdown(row: Row) -> list[dict[str, Any]]:
    out = []
    for b in LENGTH_BUCKETS:
        n = row.values.get(f"len.{b}.queries")
        if n is None:
            continue
        lo, hi = row.values.get(f"len.{b}.lo", 0.0), row.values.get(f"len.{b}.hi", math.inf)
        out.append(
            {
                "name": b,
                "span": span_text(lo, hi),
                "n": int(n),
                "r05": row.values.get(f"len.{b}.R1@0.5"),
                "r07": row.values.get(f"len.{b}.R1@0.7"),
                "map": row.values.get(f"len.{b}.mAP"),
            }
        )
    return out


def _anchor(r: Ranking) -> str:
    key = json.dumps([r.group.benchmark, r.group.gt_sha256, r.group.metric_signature], ensure_ascii=False)
    return safe_name("g", key, "x", readable=r.group.benchmark)[:-2]


def _section(r: Ranking, reports: Mapping[tuple[str, str], str]) -> dict[str, Any]:
    s = r.settings
    lines = dcase_page.system_lines(r, reports)
    metrics = list(dict.fromkeys((s.metric, *s.tie_breaks, "mAP@0.5", "mAP@0.75")))
    ok_rows = [row for row in r.rows if row.ok]
    first_sig = next((row.entry.signature for row in r.rows), {})
    return {
        "ranking": r,
        "anchor": _anchor(r),
        "csv": group_csv(r),
        "metrics": metrics,
        "rows": r.rows,
        "n_ok": len(ok_rows),
        "n_failed": len(r.rows) - len(ok_rows),
        "n_tiers": max((row.tier or 0 for row in ok_rows), default=0),
        "signature_json": _json({k: v for k, v in first_sig.items() if k != "submission_sha256"}),
        "ranking_json": _json(r.signature()),
        "map_plot": map_plot(ok_rows[:PLOTTED]),
        "forest": forest(ok_rows, s.metric, s.level),
        "lengths": length_plot(ok_rows[:PLOTTED], s.metric),
        "notes": _row_notes(r.rows),
        "systems": lines,
        "teams": dcase_page.team_lines(lines),
        "bibtex": dcase_page.bibtex(lines),
        "scatter": param_scatter(lines, s.metric),
        "has_meta": any(line.summary is not None for line in lines),
    }


def _row_notes(rows: Sequence[Row]) -> dict[int, str]:
    out = {}
    for row in rows:
        meta = row.entry.meta
        bits = []
        if isinstance(meta.get("submission"), dict) and meta["submission"].get("abbreviation"):
            bits.append(str(meta["submission"]["abbreviation"]))
        if isinstance(meta.get("description"), str) and meta["description"]:
            bits.append(meta["description"])
        out[row.entry.submission_id] = "; ".join(bits)
    return out


# ---- filters ----------------------------------------------------------------------------


def pct(value: float | None, digits: int = 2) -> str:
    return "" if value is None else f"{100 * value:.{digits}f}"


def num(value: float | None) -> str:
    """Raw value for ``data-v``: full precision, stable text."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return repr(float(value))


def meta_text(value: Any) -> str:
    """A DCASE metadata value as one line (``null`` is 'not applicable', lists are comma-joined)."""
    if value is None:
        return "not applicable"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int) and abs(value) >= 10_000:
        return f"{value:,}"
    if isinstance(value, float) and math.isfinite(value) and value == int(value):
        return str(int(value))
    if isinstance(value, (list, tuple)):
        return ", ".join(meta_text(v) for v in value) if value else "none"
    if isinstance(value, Mapping):
        return "; ".join(f"{k}: {meta_text(v)}" for k, v in value.items())
    return str(value)


def meta_rows(value: Any, prefix: str = "") -> list[tuple[str, str]]:
    """Nested mappings as ``(key / sub-key, text)`` rows, keys with spaces for underscores."""
    if isinstance(value, Mapping):
        return [row for k, v in value.items() for row in meta_rows(v, f"{prefix} / {k}" if prefix else str(k))]
    return [(prefix.replace("_", " "), meta_text(value))]


def pval(value: float | None, at_floor: bool = False) -> str:
    """As the exports write it: ``< 0.011`` at the resampling floor (see :func:`exports.pvalue`)."""
    return exports.pvalue(value, at_floor)
