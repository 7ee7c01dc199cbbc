"""The dataset folder: ground truth, features, projection heads and ``dataset.json``, written as drawn."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, Any

import numpy as np
import orjson

from amr_bench.datasets.features import FeatureStore
from amr_bench.datasets.npzio import write_npz
from amr_bench.datasets.simulate.recording import Recording, RecordingGenerator
from amr_bench.datasets.simulate.settings import GENERATOR_VERSION, SPLITS, STYLES, Signal, Style
from amr_bench.datasets.simulate.streams import iter_recordings
from amr_bench.datasets.simulate.world import World
from amr_bench.errors import UsageError

LAYOUT = {
    "ground_truth": "<split>.jsonl (qid, query, duration, vid, relevant_windows)",
    "audio": "clap/<vid>.npz key 'features' float32 (T, 768); frame i covers [i, i+1) s",
    "text": "clap_text/qid<qid>.npz key 'last_hidden_state' float32 (L, 768); last row = pooled token",
    "projection": "clap_projection.npz: audio_encoder.projection.* and caption_encoder.projection.*",
}


@dataclass
class SimulationSummary:
    out_dir: Path
    style: str
    seed: int
    recordings: dict[str, int]
    queries: dict[str, int]
    moments: dict[str, int]
    statistics: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["out_dir"] = str(self.out_dir)
        return d


@dataclass
class _Tally:
    """What is counted while the recordings are written, for ``dataset.json``."""

    counts: dict[str, dict[str, int]] = field(
        default_factory=lambda: {k: dict.fromkeys(SPLITS, 0) for k in ("recordings", "queries", "moments")}
    )
    lengths: list[float] = field(default_factory=list)
    gaps_drawn: list[float] = field(default_factory=list)
    gaps_placed: list[float] = field(default_factory=list)
    per_query: list[int] = field(default_factory=list)
    redraws: int = 0

    def add(self, split: str, rec: Recording) -> None:
        self.counts["recordings"][split] += 1
        self.counts["moments"][split] += len(rec.moments)
        self.lengths.extend(m.end - m.start for m in rec.moments)
        self.gaps_drawn.extend(rec.gaps_drawn)
        self.gaps_placed.extend(rec.gaps_placed)
        self.redraws += rec.redraws


def simulate(
    out_dir: str | Path,
    recordings: int = 500,
    seed: int = 0,
    style: str = "clotho-moment",
    signal: Signal | None = None,
    progress: Callable[[int], None] | None = None,
    overwrite: bool = False,
) -> SimulationSummary:
    """Write a complete simulated dataset to ``out_dir`` (see ``amr_bench.datasets.simulate``).

    ``out_dir`` must be new or empty; with ``overwrite`` an earlier simulated dataset there (a
    folder with ``dataset.json``) is replaced. ``progress`` (if given) is called with the number
    of recordings written so far. BLAS runs single-threaded meanwhile: the matrices are small
    (threads only add overhead) and the results then do not depend on the machine's core count.
    """
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        return _simulate(out_dir, recordings, seed, style, signal, progress, overwrite)


def _simulate(
    out_dir: str | Path,
    recordings: int,
    seed: int,
    style: str,
    signal: Signal | None,
    progress: Callable[[int], None] | None,
    overwrite: bool,
) -> SimulationSummary:
    if style not in STYLES:
        raise UsageError(f"unknown style {style!r}; choose one of: {', '.join(STYLES)}")
    if recordings < 3:
        raise UsageError(f"--recordings must be at least 3 (one per split), got {recordings}")
    out = Path(out_dir)
    _prepare_folder(out, overwrite)
    signal = signal or Signal()
    st = STYLES[style]
    tally = _Tally()
    world = _write_recordings(out, recordings, seed, st, signal, tally, progress)
    for s in SPLITS:
        os.replace(out / f"{s}.jsonl.tmp", out / f"{s}.jsonl")
    write_npz(out / "clap_projection.npz", world.projection_arrays())
    stats = _statistics(tally)
    meta = {
        "generator": GENERATOR_VERSION,
        "style": style,
        "seed": seed,
        "recordings_requested": recordings,
        "counts": tally.counts,
        "statistics": stats,
        "style_parameters": asdict(st),
        "signal": asdict(signal),
        "classes": world.class_names,
        "layout": LAYOUT,
    }
    tmp = out / "dataset.json.tmp"
    tmp.write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n", "utf-8")
    os.replace(tmp, out / "dataset.json")
    c = tally.counts
    return SimulationSummary(out, style, seed, c["recordings"], c["queries"], c["moments"], stats)


def _prepare_folder(out: Path, overwrite: bool) -> None:
    """``out`` new or empty, or (with ``overwrite``) an earlier simulated dataset whose features go."""
    if out.exists() and any(out.iterdir()):
        earlier = (out / "dataset.json").is_file()
        if not (overwrite and earlier):
            hint = " or pass --overwrite to replace the simulated dataset there" if earlier else ""
            raise UsageError(f"{out} is not empty; choose a new folder{hint}")
        for sub in ("clap", "clap_text"):
            shutil.rmtree(out / sub, ignore_errors=True)
    out.mkdir(parents=True, exist_ok=True)


def _write_recordings(
    out: Path,
    recordings: int,
    seed: int,
    style: Style,
    signal: Signal,
    tally: _Tally,
    progress: Callable[[int], None] | None,
) -> World:
    """Stream every recording to disk (features, then its ground-truth lines to ``<split>.jsonl.tmp``)."""
    store = FeatureStore(out)
    world: World | None = None
    qid_counter = 0
    with ExitStack() as stack:
        handles = {s: stack.enter_context(open(out / f"{s}.jsonl.tmp", "wb")) for s in SPLITS}
        for n, (split, rec, gen) in enumerate(iter_recordings(recordings, seed, style, signal), 1):
            world = gen.world
            store.write_audio(rec.vid, rec.features)
            qid_counter = _write_queries(handles[split], store, gen, rec, style, qid_counter, tally, split)
            tally.add(split, rec)
            if progress is not None:
                progress(n)
    if world is None:  # pragma: no cover - split_sizes gives every split a recording
        raise RuntimeError("no recording was simulated")
    return world


def _write_queries(
    handle: IO[bytes],
    store: FeatureStore,
    gen: RecordingGenerator,
    rec: Recording,
    style: Style,
    qid_counter: int,
    tally: _Tally,
    split: str,
) -> int:
    """One ground-truth line and one text feature file per query of ``rec``; the next qid number."""
    for qi, query in enumerate(rec.queries):
        qid = str(qid_counter) if style.name == "clotho-moment" else f"{rec.vid}_{qi}"
        qid_counter += 1
        windows = [[m.start, m.end] for m in rec.moments if m.query == qi]
        line: dict[str, Any] = {
            "qid": qid,
            "query": query.text,
            "duration": _num(rec.duration),
            "vid": rec.vid,
            "relevant_windows": [[_num(a), _num(b)] for a, b in windows],
        }
        if style.fg_db_field:
            line["fg_dB"] = round(query.fg_db, 6)
        handle.write(orjson.dumps(line) + b"\n")
        store.write_text(qid, gen.text_features(query, qid))
        tally.counts["queries"][split] += 1
        tally.per_query.append(len(windows))
    return qid_counter


def _num(x: float) -> float | int:
    return int(x) if float(x).is_integer() else float(x)


def _statistics(tally: _Tally) -> dict[str, Any]:
    la = np.array(tally.lengths)
    pq = np.array(tally.per_query)
    n_rec = sum(tally.counts["recordings"].values())

    def r(x: float | np.floating[Any]) -> float:
        return round(float(x), 4)

    return {
        "gap_mean_drawn_s": r(np.mean(tally.gaps_drawn)),
        "gap_mean_placed_s": r(np.mean(tally.gaps_placed)),
        "moment_length_s": {
            "mean": r(la.mean()),
            "min": r(la.min()),
            "max": r(la.max()),
            "p05": r(np.percentile(la, 5)),
            "p25": r(np.percentile(la, 25)),
            "p50": r(np.percentile(la, 50)),
            "p75": r(np.percentile(la, 75)),
            "p95": r(np.percentile(la, 95)),
            "share_shorter_than_5s": r((la < 5).mean()),
        },
        "windows_per_query": {"mean": r(pq.mean()), "max": int(pq.max())},
        "queries_per_recording": r(len(pq) / n_rec),
        "redrawn_recordings": tally.redraws,
    }
