"""The leaderboard site's charts, as data for the SVG macros in ``templates/plots.html``.

Each function turns ranked rows into coordinates and labels (strings already rounded to one decimal
of a viewBox unit), so the templates only draw: mAP against θ (``map_plot``), the primary metric
with its interval per system (``forest``), the metric by ground-truth moment length
(``length_plot``) and the metric against the number of parameters (``param_scatter``). Labels are
clipped keeping their start and end and numbered where two would read the same
(``distinct_labels``); a curve drawn exactly on top of another is dashed and named in the legend.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from amr_bench.leaderboard import dcase_page, systems
from amr_bench.leaderboard.ranking import Row

THRESHOLDS = systems.THRESHOLDS
PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2")
LENGTH_BUCKETS = ("short", "middle", "long")


def span_text(lo: float, hi: float) -> str:
    return f"> {lo:g} s" if not math.isfinite(hi) else f"{lo:g}–{hi:g} s"


# ---- benchmark pages ---------------------------------------------------------------------


# Every plot has the same width (viewBox units) so the cards line up and scale together.
PLOT_W = 600
LABEL_W = 190


def map_plot(rows: Sequence[Row]) -> dict[str, Any]:
    w, h, left, right, top, bottom = PLOT_W, 270, 56, 14, 14, 44
    pw, ph = w - left - right, h - top - bottom
    xs = [left + pw * k / (len(THRESHOLDS) - 1) for k in range(len(THRESHOLDS))]
    series: list[dict[str, Any]] = []
    shorts = distinct_labels([row.label for row in rows], 40)
    drawn: dict[str, str] = {}  # points -> the label of the first curve drawn there
    for k, row in enumerate(rows):
        vals = [row.values.get(f"mAP@{t}") for t in THRESHOLDS]
        if any(v is None for v in vals):
            continue
        pts = [(x, top + ph * (1 - float(v))) for x, v in zip(xs, vals, strict=True)]  # type: ignore[arg-type]
        points = " ".join(f"{x:.1f},{y:.1f}" for x, y in pts)
        same_as = drawn.setdefault(points, shorts[k])
        series.append(
            {
                "label": row.label,
                "short": shorts[k] if same_as == shorts[k] else f"{shorts[k]} (= {same_as})",
                # a curve on top of an earlier one is dashed, so both stay visible
                "dash": "" if same_as == shorts[k] else "5 4",
                "color": PALETTE[k % len(PALETTE)],
                "points": points,
                "dots": [
                    (f"{x:.1f}", f"{y:.1f}", f"{100 * float(v):.2f}", t)  # type: ignore[arg-type]
                    for (x, y), v, t in zip(pts, vals, THRESHOLDS, strict=True)
                ],
                "lx": "8.0",
                "ly": f"{h + 14 + 18 * len(series):.1f}",
            }
        )
    yticks = [(f"{top + ph * (1 - t / 100):.1f}", t) for t in (0, 25, 50, 75, 100)]
    xticks = [(f"{x:.1f}", t) for x, t in zip(xs, THRESHOLDS, strict=True)]
    return {
        "w": w,
        "h": h,
        "total_h": h + 18 * len(series) + 8,
        "left": left,
        "top": top,
        "pw": pw,
        "ph": ph,
        "series": series,
        "yticks": yticks,
        "xticks": xticks,
        "bottom_y": f"{top + ph:.1f}",
        "xlabel_x": f"{left + pw / 2:.1f}",
        "xlabel_y": f"{top + ph + 34:.1f}",
        "ylabel_y": f"{top + ph / 2:.1f}",
    }


def forest(rows: Sequence[Row], metric: str, level: float = 0.95) -> dict[str, Any]:
    row_h, left, right, top = 22, LABEL_W, 64, 10
    w = PLOT_W
    pw = w - left - right
    plot_h = row_h * max(len(rows), 1)
    items = []
    shorts = distinct_labels([row.label for row in rows], 26)
    for k, row in enumerate(rows):
        v = row.values.get(metric)
        if v is None:
            continue
        lo, hi = row.ci.get(metric, (v, v))
        y = top + row_h * k + row_h / 2
        items.append(
            {
                "label": shorts[k],
                "full": row.label,
                "y": f"{y:.1f}",
                "ty": f"{y + 4:.1f}",
                "x": f"{left + pw * v:.1f}",
                "x0": f"{left + pw * lo:.1f}",
                "x1": f"{left + pw * hi:.1f}",
                "value": f"{100 * v:.2f}",
                "text": f"{100 * v:.2f} [{100 * lo:.2f}, {100 * hi:.2f}]",
                "tier": row.tier or 0,
                "band_y": f"{top + row_h * k:.1f}",
                "shade": (row.tier or 0) % 2 == 0,
            }
        )
    axis_y = top + plot_h + 2
    ticks = [(f"{left + pw * t / 100:.1f}", t) for t in (0, 25, 50, 75, 100)]
    return {
        "w": w,
        "h": axis_y + 40,
        "left": left,
        "pw": pw,
        "top": top,
        "row_h": row_h,
        "rows": items,
        "ticks": ticks,
        "axis_y": f"{axis_y:.1f}",
        "tick_y": f"{axis_y + 14:.1f}",
        "xlabel_x": f"{left + pw / 2:.1f}",
        "xlabel_y": f"{axis_y + 32:.1f}",
        "metric": metric,
        "level": round(level * 100),
    }


def length_plot(rows: Sequence[Row], metric: str) -> dict[str, Any]:
    """Grouped bars per system; buckets no query falls into are left out (bars and legend)."""
    buckets = [b for b in LENGTH_BUCKETS if any(r.values.get(f"len.{b}.queries", 0) > 0 for r in rows)]
    w, left, top, bar_h, gap = PLOT_W, LABEL_W, 30, 12, 10
    pw = w - left - 56
    items = []
    y = top
    shorts = distinct_labels([row.label for row in rows], 26)
    for row, short in zip(rows, shorts, strict=True):
        bars = []
        for j, b in enumerate(buckets):
            v = row.values.get(f"len.{b}.{metric}")
            bars.append(
                {
                    "y": f"{y + j * bar_h:.1f}",
                    "w": f"{pw * (v or 0):.1f}",
                    "text": "n/a" if v is None else f"{100 * v:.2f}",
                    "tx": f"{left + pw * (v or 0) + 3:.1f}",
                    "ty": f"{y + j * bar_h + bar_h - 2:.1f}",
                    "color": PALETTE[j % len(PALETTE)],
                    "bucket": b,
                }
            )
        items.append(
            {
                "label": short,
                "full": row.label,
                "ly": f"{y + len(buckets) * bar_h / 2 + 4:.1f}",
                "bars": bars,
            }
        )
        y += len(buckets) * bar_h + gap
    legend = []
    for j, b in enumerate(buckets):
        ref = next((r.values for r in rows if r.values.get(f"len.{b}.queries", 0) > 0), {})
        lo, hi = ref.get(f"len.{b}.lo", 0.0), ref.get(f"len.{b}.hi", math.inf)
        n = int(ref.get(f"len.{b}.queries", 0))
        legend.append(
            {
                "name": b,
                "span": span_text(lo, hi),
                "n": n,
                "color": PALETTE[j % len(PALETTE)],
                "x": f"{8 + j * 196:.1f}",
            }
        )
    axis_y = y - gap + 4
    return {
        "w": w,
        "h": axis_y + 40,
        "left": left,
        "pw": pw,
        "rows": items,
        "legend": legend,
        "metric": metric,
        "has": bool(buckets and rows),
        "ticks": [(f"{left + pw * t / 100:.1f}", t) for t in (0, 25, 50, 75, 100)],
        "axis_y": f"{axis_y:.1f}",
        "tick_y": f"{axis_y + 14:.1f}",
        "xlabel_x": f"{left + pw / 2:.1f}",
        "xlabel_y": f"{axis_y + 32:.1f}",
        "top": top,
    }


def param_scatter(lines: Sequence[dcase_page.SystemLine], metric: str) -> dict[str, Any]:
    """The primary metric against the number of parameters (log scale), one dot per system that says."""
    pts: list[tuple[dcase_page.SystemLine, int, float]] = []
    for line in lines:
        p, v = line.characteristics.get("parameters"), line.row.values.get(metric)
        if isinstance(p, int) and p > 0 and v is not None:
            pts.append((line, p, float(v)))
    w, h, left, right, top, bottom = PLOT_W, 300, 56, 20, 14, 44
    pw, ph = w - left - right, h - top - bottom
    if not pts:
        return {"has": False}
    lo = math.floor(math.log10(min(p for _, p, _ in pts)))
    hi = max(lo + 1, math.ceil(math.log10(max(p for _, p, _ in pts))))

    def xpos(p: float) -> float:
        return left + pw * (math.log10(p) - lo) / (hi - lo)

    shorts = distinct_labels([x.label for x, _, _ in pts], 24)
    dots = []
    for (line, p, v), short in zip(pts, shorts, strict=True):
        x, y = xpos(p), top + ph * (1 - v)
        dots.append(
            {
                "x": f"{x:.1f}",
                "y": f"{y:.1f}",
                "lx": f"{min(x + 6, w - 4):.1f}",
                "anchor": "end" if x > w - 150 else "start",
                "lx_end": f"{x - 6:.1f}",
                "label": short,
                "full": line.label,
                "text": f"{100 * v:.2f}% with {p:,} parameters",
                "reference": line.reference is not None,
                "synthetic": line.synthetic,
            }
        )
    xticks = [(f"{xpos(10.0**e):.1f}", power_of_ten(e)) for e in range(lo, hi + 1)]
    return {
        "has": True,
        "w": w,
        "h": h,
        "left": left,
        "top": top,
        "pw": pw,
        "ph": ph,
        "dots": dots,
        "xticks": xticks,
        "yticks": [(f"{top + ph * (1 - t / 100):.1f}", t) for t in (0, 25, 50, 75, 100)],
        "bottom_y": f"{top + ph:.1f}",
        "xlabel_x": f"{left + pw / 2:.1f}",
        "xlabel_y": f"{top + ph + 34:.1f}",
        "ylabel_y": f"{top + ph / 2:.1f}",
        "metric": metric,
    }


def power_of_ten(e: int) -> str:
    """``10**e`` as a short axis label: 1, 10, 100, 1k, 10k ... 100M, 1G."""
    for step, unit in ((12, "T"), (9, "G"), (6, "M"), (3, "k")):
        if e >= step:
            return f"{10 ** (e - step)}{unit}"
    return str(10**e) if e >= 0 else f"1e{e}"


def clip_label(text: str, n: int) -> str:
    """At most ``n`` characters: the start and the end kept (system names differ at the end too)."""
    if len(text) <= n:
        return text
    head = (n - 1) * 3 // 5
    return text[:head] + "…" + text[len(text) - (n - 1 - head) :]


def distinct_labels(labels: Sequence[str], n: int) -> list[str]:
    """Plot labels of at most ``n`` characters (about), never the same text for different names."""
    out = [clip_label(label, n) for label in labels]
    for k, short in enumerate(out):
        twins = [j for j, other in enumerate(out) if other == short and labels[j] != labels[k]]
        if twins:
            for number, j in enumerate(sorted({k, *twins}), start=1):
                out[j] = clip_label(labels[j], n - 4) + f" #{number}"
    return out
