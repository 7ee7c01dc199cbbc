"""The static leaderboard site: one page per benchmark plus an index, from the result store.

Pages are rendered by jinja2 with autoescaping (team and system names are untrusted), carry their
own CSS, a few lines of vanilla JavaScript (column sorting on raw ``data-v`` values, failed rows
always last) and inline SVG plots, and make no external request: they work from ``file://``.
Rendering is deterministic: the same store and settings give byte-identical files (the only
times shown are the stored submission times; every iteration is sorted).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2

from amr_bench import __version__
from amr_bench.leaderboard.ranking import Ranking, RankSettings, Row, rank_store
from amr_bench.leaderboard.store import Store

TEMPLATES = Path(__file__).resolve().parent / "templates"
# Pages in this order; a benchmark belongs to the first dataset key its name starts with.
PAGES: tuple[tuple[str, str], ...] = (
    ("clotho-moment", "Clotho-Moment"),
    ("castella", "CASTELLA"),
    ("unav100-subset", "UnAV-100"),
    ("tut2017", "TUT Sound Events 2017"),
    ("dcase2026", "DCASE 2026 eval"),
    ("simulated", "Simulated"),
)
THRESHOLDS = ("0.5", "0.55", "0.6", "0.65", "0.7", "0.75", "0.8", "0.85", "0.9", "0.95")
PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2")
LENGTH_BUCKETS = ("short", "middle", "long")
PLOTTED = 8  # systems drawn in the multi-system plots (the top ranks)


def page_key(benchmark: str) -> str:
    for key, _ in PAGES:
        if benchmark == key or benchmark.startswith((key + "/", key + "-", key + "_")):
            return key
    head = benchmark.split("/")[0]
    return "".join(c if c.isalnum() or c in "-_" else "-" for c in head) or "other"


@dataclass
class Page:
    key: str
    title: str
    rankings: list[Ranking] = field(default_factory=list)

    @property
    def file(self) -> str:
        return f"{self.key}.html"


def build_pages(rankings: Sequence[Ranking]) -> list[Page]:
    pages = {key: Page(key, title) for key, title in PAGES}
    for r in sorted(rankings, key=lambda r: (r.group.benchmark, r.group.gt_sha256, r.group.metric_signature)):
        key = page_key(r.group.benchmark)
        pages.setdefault(key, Page(key, key)).rankings.append(r)
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
    env.filters["short"] = lambda s, n=12: str(s)[:n]
    return env


def render_site(
    store: Store,
    out_dir: str | Path,
    settings: RankSettings = RankSettings(),
    rankings: Sequence[Ranking] | None = None,
) -> list[Path]:
    """Rank every group and write ``index.html`` plus one page per benchmark; returns the files."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rankings = list(rankings) if rankings is not None else rank_store(store, settings)
    pages = build_pages(rankings)
    env = environment()
    common = {"pages": pages, "version": __version__, "settings_json": _json(settings.signature())}
    written = []
    index = env.get_template("index.html").render(
        **common, current=None, title="amr-bench leaderboard", overview=[_overview(p) for p in pages]
    )
    written.append(_write(out / "index.html", index))
    for page in pages:
        html = env.get_template("page.html").render(
            **common,
            current=page.key,
            title=f"{page.title} — amr-bench leaderboard",
            page=page,
            sections=[_section(r) for r in page.rankings],
        )
        written.append(_write(out / page.file, html))
    return written


def _write(path: Path, text: str) -> Path:
    from amr_bench.outputs import write_text_atomic

    return write_text_atomic(path, text)


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, indent=1, ensure_ascii=False)


# ---- view models -------------------------------------------------------------------------


def _overview(page: Page) -> dict[str, Any]:
    groups = []
    for r in page.rankings:
        leaders = [row for row in r.rows if row.ok and row.rank == 1]
        groups.append(
            {
                "benchmark": r.group.benchmark,
                "gt": r.group.gt_sha256,
                "entries": len(r.rows),
                "leaders": [row.label for row in leaders],
                "value": leaders[0].values.get(r.settings.metric) if leaders else None,
                "metric": r.settings.metric,
                "anchor": _anchor(r),
            }
        )
    return {"page": page, "groups": groups}


def _anchor(r: Ranking) -> str:
    return "g-" + "".join(c if c.isalnum() else "-" for c in r.group.benchmark) + "-" + r.group.gt_sha256[:8]


def _section(r: Ranking) -> dict[str, Any]:
    s = r.settings
    metrics = list(dict.fromkeys((s.metric, *s.tie_breaks, "mAP@0.5", "mAP@0.75")))
    ok_rows = [row for row in r.rows if row.ok]
    first_sig = next((row.entry.signature for row in r.rows), {})
    return {
        "ranking": r,
        "anchor": _anchor(r),
        "metrics": metrics,
        "rows": r.rows,
        "n_ok": len(ok_rows),
        "n_failed": len(r.rows) - len(ok_rows),
        "n_tiers": max((row.tier or 0 for row in ok_rows), default=0),
        "signature_json": _json({k: v for k, v in first_sig.items() if k != "submission_sha256"}),
        "ranking_json": _json(r.signature()),
        "map_plot": _map_plot(ok_rows[:PLOTTED]),
        "forest": _forest(ok_rows, s.metric),
        "lengths": _length_plot(ok_rows[:PLOTTED], s.metric),
        "notes": _row_notes(r.rows),
    }


def _row_notes(rows: Sequence[Row]) -> dict[int, str]:
    out = {}
    for row in rows:
        meta = row.entry.meta
        bits = []
        if isinstance(meta.get("submission"), dict) and meta["submission"].get("abbreviation"):
            bits.append(str(meta["submission"]["abbreviation"]))
        if meta.get("description"):
            bits.append(str(meta["description"]))
        out[row.entry.submission_id] = "; ".join(bits)
    return out


def _map_plot(rows: Sequence[Row]) -> dict[str, Any]:
    w, h, left, right, top, bottom = 560, 260, 44, 12, 12, 30
    pw, ph = w - left - right, h - top - bottom
    xs = [left + pw * k / (len(THRESHOLDS) - 1) for k in range(len(THRESHOLDS))]
    series = []
    for k, row in enumerate(rows):
        vals = [row.values.get(f"mAP@{t}") for t in THRESHOLDS]
        if any(v is None for v in vals):
            continue
        pts = [(x, top + ph * (1 - float(v))) for x, v in zip(xs, vals)]
        series.append(
            {
                "label": row.label,
                "color": PALETTE[k % len(PALETTE)],
                "points": " ".join(f"{x:.1f},{y:.1f}" for x, y in pts),
                "dots": [(f"{x:.1f}", f"{y:.1f}", f"{100 * float(v):.2f}") for (x, y), v in zip(pts, vals)],
            }
        )
    yticks = [(f"{top + ph * (1 - t / 100):.1f}", t) for t in (0, 25, 50, 75, 100)]
    xticks = [(f"{x:.1f}", t) for x, t in zip(xs, THRESHOLDS)]
    return {
        "w": w,
        "h": h,
        "left": left,
        "top": top,
        "pw": pw,
        "ph": ph,
        "series": series,
        "yticks": yticks,
        "xticks": xticks,
        "bottom_y": f"{top + ph:.1f}",
    }


def _forest(rows: Sequence[Row], metric: str) -> dict[str, Any]:
    row_h, left, right, top = 20, 230, 70, 24
    w = 640
    pw = w - left - right
    h = top + row_h * max(len(rows), 1) + 8
    items = []
    for k, row in enumerate(rows):
        v = row.values.get(metric)
        lo, hi = row.ci.get(metric, (v, v))
        if v is None:
            continue
        y = top + row_h * k + row_h / 2
        items.append(
            {
                "label": _clip(row.label, 34),
                "full": row.label,
                "y": f"{y:.1f}",
                "ty": f"{y + 4:.1f}",
                "x": f"{left + pw * v:.1f}",
                "x0": f"{left + pw * lo:.1f}",
                "x1": f"{left + pw * hi:.1f}",
                "text": f"{100 * v:.2f} [{100 * lo:.2f}, {100 * hi:.2f}]",
                "tier": row.tier or 0,
                "band_y": f"{top + row_h * k:.1f}",
                "shade": (row.tier or 0) % 2 == 0,
            }
        )
    ticks = [(f"{left + pw * t / 100:.1f}", t) for t in (0, 25, 50, 75, 100)]
    return {
        "w": w,
        "h": h,
        "left": left,
        "pw": pw,
        "top": top,
        "row_h": row_h,
        "rows": items,
        "ticks": ticks,
        "axis_y": f"{h - 4:.1f}",
        "metric": metric,
    }


def _length_plot(rows: Sequence[Row], metric: str) -> dict[str, Any]:
    buckets = [b for b in LENGTH_BUCKETS if any(f"len.{b}.queries" in r.values for r in rows)]
    w, left, top, bar_h, gap = 660, 230, 26, 9, 8
    pw = w - left - 70
    items = []
    y = top
    for k, row in enumerate(rows):
        bars = []
        for j, b in enumerate(buckets):
            v = row.values.get(f"len.{b}.{metric}")
            bars.append(
                {
                    "y": f"{y + j * bar_h:.1f}",
                    "w": f"{pw * (v or 0):.1f}",
                    "text": "n/a" if v is None else f"{100 * v:.1f}",
                    "tx": f"{left + pw * (v or 0) + 3:.1f}",
                    "ty": f"{y + j * bar_h + bar_h:.1f}",
                    "color": PALETTE[j % len(PALETTE)],
                }
            )
        items.append(
            {
                "label": _clip(row.label, 34),
                "full": row.label,
                "ly": f"{y + len(buckets) * bar_h / 2 + 4:.1f}",
                "bars": bars,
            }
        )
        y += len(buckets) * bar_h + gap
    legend = []
    ref = rows[0].values if rows else {}
    for j, b in enumerate(buckets):
        lo, hi = ref.get(f"len.{b}.lo", 0.0), ref.get(f"len.{b}.hi", math.inf)
        span = f"> {lo:g} s" if not math.isfinite(hi) else f"{lo:g}–{hi:g} s"
        n = int(ref.get(f"len.{b}.queries", 0))
        legend.append(
            {"name": b, "span": span, "n": n, "color": PALETTE[j % len(PALETTE)], "x": f"{left - 220 + j * 200:.1f}"}
        )
    return {
        "w": w,
        "h": y + 4,
        "left": left,
        "rows": items,
        "legend": legend,
        "metric": metric,
        "has": bool(buckets and rows),
    }


def _clip(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


# ---- filters ----------------------------------------------------------------------------


def pct(value: float | None, digits: int = 2) -> str:
    return "" if value is None else f"{100 * value:.{digits}f}"


def num(value: float | None) -> str:
    """Raw value for ``data-v``: full precision, stable text."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return repr(float(value))


def pval(value: float | None) -> str:
    if value is None:
        return ""
    return "< 0.001" if value < 0.001 else f"{value:.3f}"
