"""Sliding-window CLAP (the baseline of *Language-based Audio Moment Retrieval*, arXiv:2409.15672): window
embeddings, threshold, median filter, runs.

For every second ``i`` of a recording, a window of ``w`` seconds (1, 4 or 7) around it, hop 1 s,
is embedded and projected into MS-CLAP's joint space; its cosine with the projected query gives
curve sample ``i``. Samples ``>= threshold`` are on, the on/off sequence is median-filtered
(length ``median``), every run of ones is a moment scored by the mean similarity inside it, at
most 10, best first (a query with no run gets its single best second).

Two ways to get the window embeddings, and the output says which (``source``):

* ``"audio"``: from raw audio, each window through MS-CLAP's audio encoder (needs the model);
  this is the paper's method.
* ``"pooled-features"``: when only the per-second 768-d features exist, the window embedding is
  the mean of the 768-d frames of the window, then ``audio_encoder.projection``. This
  approximates the paper's method (HTSAT does not pool linearly over time).

Windows are centred on the second: frames ``i - (w-1)//2 .. i + w//2``, clipped at the ends of
the recording. The threshold applies to the raw cosine, as in the paper; ``tune`` picks the
window, threshold and filter length on a validation split by a declared metric and writes them
to a settings file that the run command reads.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from amr_bench.errors import InputError, Problem, UsageError
from amr_bench_baselines.zeroshot.curves import (
    AudioBank,
    Curves,
    SplitData,
    load_audio_bank,
    localise_blocks,
    make_bank,
    require_features,
    split_curves,
    split_vids,
    submission_records,
)
from amr_bench_baselines.zeroshot.localise import run_windows_block
from amr_bench_baselines.zeroshot.pooled_text import TokenCounter, pooled_text_vectors

WINDOWS = (1, 4, 7)
MEDIANS = (1, 3, 5, 7, 9)
METRICS = ("R1@0.5", "R1@0.7", "mAP", "mAP@0.5", "mAP@0.75")
SETTINGS_NAME = "sliding-clap.settings.json"


@dataclass
class SlidingSettings:
    window: int = 7
    threshold: float | None = None
    median: int = 5
    source: str = "pooled-features"
    tuned_on: dict[str, Any] = field(default_factory=dict)

    def save(self, path: str | Path) -> Path:
        from amr_bench.outputs import write_text_atomic

        return write_text_atomic(path, json.dumps({"baseline": "sliding-clap", **asdict(self)}, indent=2) + "\n")

    @classmethod
    def load(cls, path: str | Path) -> SlidingSettings:
        """Read a settings file; anything wrong in it is an ``InputError`` (``FILE:LINE``)."""
        path = Path(path)
        try:
            text = path.read_text()
        except (OSError, UnicodeDecodeError) as exc:
            raise UsageError(f"cannot read the settings file {path} ({exc})") from None
        try:
            doc = json.loads(text)
        except json.JSONDecodeError as exc:
            raise _bad_settings(path, exc.lineno, f"not valid JSON: {exc.msg} (column {exc.colno})") from None
        if not isinstance(doc, dict) or doc.get("baseline") != "sliding-clap":
            raise _bad_settings(
                path,
                1,
                "not a sliding-clap settings file (expected "
                '"baseline": "sliding-clap"; write one with `amr-bench baseline '
                "tune sliding-clap`)",
            )
        problems = [Problem(str(path), _key_line(text, k), f"{k}: {msg}") for k, msg in settings_problems(doc)]
        if problems:
            raise InputError(problems, f"bad sliding-clap settings file: {path}")
        return cls(**{k: v for k, v in doc.items() if k != "baseline"})


SOURCES = ("pooled-features", "audio")


def settings_problems(doc: dict[str, Any]) -> list[tuple[str, str]]:
    """``(key, message)`` for every unknown key or bad value of a settings document."""
    out: list[tuple[str, str]] = []
    known = {f for f in SlidingSettings.__dataclass_fields__} | {"baseline"}
    out += [(k, "unknown setting") for k in doc if k not in known]
    window, median, tau = doc.get("window", 7), doc.get("median", 5), doc.get("threshold")
    if not isinstance(window, int) or isinstance(window, bool) or window < 1:
        out.append(("window", f"must be a whole number of seconds >= 1, got {window!r}"))
    if not isinstance(median, int) or isinstance(median, bool) or median < 1 or median % 2 == 0:
        out.append(("median", f"must be an odd whole number >= 1, got {median!r}"))
    if tau is not None and (not isinstance(tau, (int, float)) or isinstance(tau, bool) or not np.isfinite(tau)):
        out.append(("threshold", f"must be a number or null, got {tau!r}"))
    if doc.get("source", SOURCES[0]) not in SOURCES:
        out.append(("source", f"must be one of {', '.join(SOURCES)}, got {doc.get('source')!r}"))
    if not isinstance(doc.get("tuned_on", {}), dict):
        out.append(("tuned_on", "must be an object"))
    return out


def _key_line(text: str, key: str) -> int | None:
    at = text.find(f'"{key}"')
    return text.count("\n", 0, at) + 1 if at >= 0 else None


def _bad_settings(path: Path, line: int | None, message: str) -> InputError:
    return InputError([Problem(str(path), line, message)], f"bad sliding-clap settings file: {path}")


def metric_value(result: Any, metric: str) -> float:
    """A declared metric from a ``ScoreResult`` (unrounded fraction)."""
    if metric not in METRICS:
        raise UsageError(f"unknown metric {metric!r}; choose one of {', '.join(METRICS)}")
    kind, _, theta = metric.partition("@")
    if kind == "mAP":
        return float(result.raw["mAP"][theta or "average"])
    return float(result.raw["R1"][theta])


def pooled_window_frames(bank: AudioBank, window: int) -> np.ndarray:
    """Mean of the 768-d frames of the centred window around every frame (vectorised)."""
    n = len(bank.frames)
    csum = np.zeros((n + 1, bank.frames.shape[1]), dtype=np.float64)
    np.cumsum(bank.frames, axis=0, out=csum[1:])
    rec = np.repeat(np.arange(len(bank.vids)), bank.lengths())
    first, stop = bank.offsets[:-1][rec], bank.offsets[1:][rec]
    i = np.arange(n)
    lo = np.maximum(i - (window - 1) // 2, first)
    hi = np.minimum(i + window // 2 + 1, stop)
    return ((csum[hi] - csum[lo]) / (hi - lo)[:, None]).astype(np.float32)


def similarity_curves(
    data: SplitData,
    heads: Any,
    window: int,
    window_bank: AudioBank | None = None,
    frame_bank: AudioBank | None = None,
    count_tokens: TokenCounter | None = None,
) -> Curves:
    """Cosine of each window embedding with the projected query (its end-of-text row,
    :func:`~amr_bench_baselines.zeroshot.pooled_text.pooled_text_vectors`), per query.

    ``window_bank`` holds 768-d window embeddings from raw audio (source "audio"); without it
    they are pooled from the per-second features (source "pooled-features"), read from the
    feature store or taken from ``frame_bank`` (the split's frames, already read).
    """
    require_features(data, audio=window_bank is None and frame_bank is None)
    text = heads.project("text", pooled_text_vectors(data, count_tokens))
    if window_bank is not None:
        return split_curves(data, text, lambda c: heads.project("audio", c.frames), window_bank.chunks())
    pooled = lambda c: heads.project("audio", pooled_window_frames(c, window))
    return split_curves(data, text, pooled, frame_bank.chunks() if frame_bank else None)


def sliding_windows(curves: Curves, durations: np.ndarray, threshold: float, median: int) -> list[list[list[float]]]:
    return localise_blocks(curves, durations, lambda block, durs: run_windows_block(block, durs, threshold, median))


def sliding_clap(
    data: SplitData,
    heads: Any,
    settings: SlidingSettings,
    window_bank: AudioBank | None = None,
    count_tokens: TokenCounter | None = None,
) -> list[dict[str, Any]]:
    if settings.threshold is None:
        raise UsageError(
            "sliding-clap needs a threshold: run `amr-bench baseline tune "
            "sliding-clap --data ROOT --split val` first, or pass --threshold"
        )
    curves = similarity_curves(data, heads, settings.window, window_bank, count_tokens=count_tokens)
    windows = sliding_windows(curves, data.gt.durations, settings.threshold, settings.median)
    return submission_records(data.gt, windows)


@dataclass
class TuneResult:
    best: SlidingSettings
    table: list[dict[str, Any]]  # one row per (window, threshold, median) tried


def tune(
    data: SplitData,
    heads: Any,
    metric: str = "R1@0.7",
    windows: Sequence[int] = WINDOWS,
    medians: Sequence[int] = MEDIANS,
    n_thresholds: int = 12,
    window_banks: dict[int, AudioBank] | None = None,
    count_tokens: TokenCounter | None = None,
) -> TuneResult:
    """Grid search of window x threshold x median filter on ``data`` by ``metric``.

    Thresholds: ``n_thresholds`` quantiles (0.50 .. 0.98) of all similarities of that window.
    Ties keep the first candidate in grid order (smaller window, lower threshold, shorter filter).
    """
    from amr_bench.scoring import score_records

    if metric not in METRICS:
        raise UsageError(f"unknown metric {metric!r}; choose one of {', '.join(METRICS)}")
    if not data.gt.has_windows:
        raise UsageError(
            f"{data.root / (data.split + '.jsonl')} has no relevant_windows: tune needs a split with ground truth"
        )
    table: list[dict[str, Any]] = []
    best: tuple[float, SlidingSettings] | None = None
    source = "audio" if window_banks else "pooled-features"
    frames = None
    if not window_banks:  # read the frames once for every window
        require_features(data)
        frames = load_audio_bank(data)
    for w in windows:
        bank = window_banks.get(w) if window_banks else None
        curves = similarity_curves(data, heads, w, bank, frames, count_tokens)
        levels = np.linspace(0.5, 0.98, n_thresholds)
        for tau in np.unique(np.round(np.quantile(curves.values, levels), 6)):
            for k in medians:
                recs = submission_records(data.gt, sliding_windows(curves, data.gt.durations, float(tau), k))
                value = metric_value(score_records(recs, data.gt), metric)
                table.append({"window": w, "threshold": float(tau), "median": k, metric: value})
                if best is None or value > best[0]:
                    best = (value, SlidingSettings(w, float(tau), k, source))
    assert best is not None
    best[1].tuned_on = {
        "data": str(data.root),
        "split": data.split,
        "metric": metric,
        "value": best[0],
        "candidates": len(table),
    }
    return TuneResult(best[1], table)


def find_audio_files(data: SplitData, audio_dir: str | Path) -> dict[str, Path]:
    """``{vid: audio_dir/<vid>.<ext>}`` for every recording of ``data`` (checked before any
    model is loaded): a missing folder is a ``UsageError``, missing or unreadable files (by
    their headers) one ``InputError`` listing them all."""
    from amr_bench_baselines.zeroshot.extract import AUDIO_SUFFIXES

    audio_dir = Path(audio_dir)
    if not audio_dir.is_dir():
        raise UsageError(f"the audio folder {audio_dir} does not exist")
    found = {p.stem: p for p in sorted(audio_dir.iterdir()) if p.suffix.lower() in AUDIO_SUFFIXES}
    vids = split_vids(data)
    missing = [v for v in vids if v not in found]
    if missing:
        raise InputError(
            [Problem(str(audio_dir / f"{v}.wav"), None, f"no audio file for vid {v!r}") for v in missing],
            f"{len(missing)} recording(s) missing in {audio_dir}",
        )
    import soundfile as sf

    unreadable = []
    for v in vids:
        try:
            sf.info(str(found[v]))
        except Exception as exc:
            unreadable.append(Problem(str(found[v]), None, f"unreadable audio: {exc}"))
    if unreadable:
        raise InputError(unreadable, f"{len(unreadable)} audio file(s) unreadable in {audio_dir}")
    return {v: found[v] for v in vids}


def audio_window_banks(
    adapter: Any, files: dict[str, Path], windows: Sequence[int], batch_size: int = 16
) -> dict[int, AudioBank]:
    """Per window length: 768-d embeddings of the windows (hop 1 s, centred on each second) of
    every recording in ``files`` (from :func:`find_audio_files`), through MS-CLAP's audio
    encoder. Each file is read once; an unreadable one is an ``InputError`` naming it."""
    from amr_bench_baselines.zeroshot.audio_framing import window_clips
    from amr_bench_baselines.zeroshot.extract import read_audio

    arrays: dict[int, list[np.ndarray]] = {w: [] for w in windows}
    for vid, path in files.items():
        try:
            wave = read_audio(path)
        except Exception as exc:
            raise InputError(
                [Problem(str(path), None, f"unreadable audio: {exc}")], f"cannot read the audio of vid {vid!r}"
            ) from None
        for w in windows:
            clips = window_clips(wave, w)
            arrays[w].append(
                np.concatenate(
                    [adapter.audio_features(clips[i : i + batch_size]) for i in range(0, len(clips), batch_size)]
                )
            )
    return {w: make_bank(list(files), arrays[w]) for w in windows}
