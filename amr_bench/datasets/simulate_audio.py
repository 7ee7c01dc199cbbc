"""Algorithm 1 of the Clotho-Moment paper on real audio (``amr-bench simulate-audio``).

Inputs: foreground clips with captions (a JSONL file, one ``{"audio": PATH, "caption": TEXT}`` or
``{"audio": PATH, "captions": [TEXT, ...]}`` per line, paths relative to the JSONL's folder) and a
folder of long background recordings (any format soundfile reads). Output: ``OUT/audio/<vid>.wav``
(mono, float WAV at ``sample_rate``) and ``OUT/<split>.jsonl`` ground truth (with Clotho-Moment's
``fg_dB`` field).

Steps, as in the paper (docs/baselines.md, "The Clotho-Moment simulation"):

1. backgrounds are cut into segments of ``duration`` seconds (one minute) at 1-s offsets, and each
   output recording draws one segment;
2. foreground clips are trimmed: leading/trailing 50-ms frames whose power is more than 20 dB
   below the clip's overall power are removed;
3. gains relative to unit power: foreground ``U(-5, 5)`` dB, background ``-20 + U(-5, 5)`` dB;
4. loop: gap ``d ~ Exponential(gap_mean)``, clip drawn, start ``t + d``, stop if it would end past
   the recording, overlay, ``t = end``. A draw that places no moment is redrawn (as in the
   feature simulator). One moment per query.

Audio is read with ``soundfile`` (the ``baselines`` extra), resampled with
``scipy.signal.resample_poly`` and written as 32-bit float WAV by ``scipy.io.wavfile``.
Deterministic by seed, to the byte: libsndfile would add a PEAK chunk holding the time of writing.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import orjson
from scipy.io import wavfile
from scipy.signal import resample_poly

from amr_bench.errors import InputError, Problem, UsageError
from amr_bench.jsonl import read_jsonl

TRIM_DB = -20.0
TRIM_FRAME_S = 0.05
AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".aiff", ".aif")


def _soundfile() -> Any:
    try:
        import soundfile
    except ImportError:  # pragma: no cover - depends on the installation
        raise UsageError(
            "simulate-audio needs the soundfile package: pip install 'amr-bench[baselines]' (or pip install soundfile)"
        ) from None
    return soundfile


def load_mono(path: Path, sample_rate: int) -> np.ndarray:
    """``path`` as mono float64 at ``sample_rate`` (channels averaged, resampled if needed)."""
    sf = _soundfile()
    try:
        data, sr = sf.read(str(path), dtype="float64", always_2d=True)
    except Exception as exc:  # soundfile raises its own LibsndfileError / RuntimeError
        raise InputError(
            [Problem(str(path), None, f"cannot read audio ({exc})")], f"unreadable audio file: {path}"
        ) from None
    mono = data.mean(axis=1)
    if sr != sample_rate:
        ratio = Fraction(sample_rate, sr)
        mono = resample_poly(mono, ratio.numerator, ratio.denominator)
    return mono


def trim_silence(x: np.ndarray, sample_rate: int, db: float = TRIM_DB) -> np.ndarray:
    """Drop leading/trailing frames more than ``-db`` dB below the overall power."""
    frame = max(1, round(TRIM_FRAME_S * sample_rate))
    n = len(x) // frame
    if n == 0:
        return x
    power = (x[: n * frame].reshape(n, frame) ** 2).mean(axis=1)
    overall = float((x**2).mean())
    loud = np.flatnonzero(power >= overall * 10 ** (db / 10))
    if overall == 0 or len(loud) == 0:
        return x[:0]
    return x[loud[0] * frame : min(len(x), (loud[-1] + 1) * frame)]


def _unit_power(x: np.ndarray) -> np.ndarray:
    p = float((x**2).mean()) if len(x) else 0.0
    return x / math.sqrt(p) if p > 0 else x


@dataclass
class Clip:
    path: Path
    captions: list[str]
    audio: np.ndarray  # trimmed, unit power


def read_foreground(jsonl: Path, sample_rate: int) -> list[Clip]:
    jf = read_jsonl(jsonl)
    problems = [p for p in jf.problems if p.is_error]
    clips = []
    for rec, line in zip(jf.records, jf.lines, strict=True):
        caps = rec.get("captions") if isinstance(rec, dict) else None
        if isinstance(rec, dict) and isinstance(rec.get("caption"), str):
            caps = [rec["caption"]]
        if not (
            isinstance(rec, dict)
            and isinstance(rec.get("audio"), str)
            and isinstance(caps, list)
            and caps
            and all(isinstance(c, str) and c.strip() for c in caps)
        ):
            problems.append(
                Problem(
                    str(jsonl),
                    line,
                    'expected {"audio": PATH, "caption": TEXT} or {"audio": PATH, "captions": [TEXT, ...]}',
                )
            )
            continue
        path = (jsonl.parent / rec["audio"]).resolve()
        if not path.is_file():
            problems.append(Problem(str(jsonl), line, f"audio file not found: {path}"))
            continue
        audio = trim_silence(load_mono(path, sample_rate), sample_rate)
        if len(audio) == 0:
            problems.append(Problem(str(jsonl), line, f"{path} is silent"))
            continue
        clips.append(Clip(path, caps, _unit_power(audio)))
    if problems:
        raise InputError(problems, f"{jsonl}: unusable foreground list")
    if not clips:
        raise InputError([Problem(str(jsonl), None, "no foreground clip")], f"{jsonl}: empty")
    return clips


#: One placed moment: the clip, the caption drawn for it, start and end (s), foreground gain (dB).
Placed = tuple[Clip, str, float, float, float]
MAX_REDRAWS = 200


def simulate_audio(
    foreground: str | Path,
    background: str | Path,
    out_dir: str | Path,
    recordings: int = 10,
    seed: int = 0,
    sample_rate: int = 44100,
    duration: float = 60.0,
    gap_mean: float = 30.0,
    split: str = "test",
    progress: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    """Write ``recordings`` simulated recordings and their ground truth; returns a summary."""
    fg_path, bg_dir, out = Path(foreground), Path(background), Path(out_dir)
    if not fg_path.is_file():
        raise UsageError(f"--foreground {fg_path}: no such file")
    bg_files = _background_files(bg_dir)
    clips = read_foreground(fg_path, sample_rate)
    seg = round(duration * sample_rate)
    backgrounds = [load_mono(p, sample_rate) for p in bg_files]
    segments = _segments(backgrounds, seg, sample_rate)
    if not segments:
        raise UsageError(f"--background {bg_dir}: no recording is at least {duration:g} s long")
    shortest = min(len(c.audio) for c in clips) / sample_rate
    if shortest >= duration:
        raise UsageError(f"every foreground clip is at least {duration:g} s long after trimming")
    rng = np.random.default_rng([seed, 7])
    picks = rng.choice(len(segments), recordings, replace=recordings > len(segments))
    (out / "audio").mkdir(parents=True, exist_ok=True)
    lines: list[bytes] = []
    gaps: list[float] = []
    uses: dict[str, int] = {}
    for n, pick in enumerate(picks):
        b, off = segments[int(pick)]
        bg = _unit_power(backgrounds[b][off * sample_rate : off * sample_rate + seg])
        bg_db = -20.0 + float(rng.uniform(-5.0, 5.0))
        mix = bg * 10 ** (bg_db / 20)
        placed = _place(rng, clips, duration, gap_mean, sample_rate, gaps)
        vid = _unique_vid(f"{bg_files[b].stem}_{off:.1f}_{off + duration:.1f}", uses)
        for clip, _, start, _, fg_db in placed:
            i0 = round(start * sample_rate)
            mix[i0 : i0 + len(clip.audio)] += clip.audio * 10 ** (fg_db / 20)
        lines.extend(_ground_truth_lines(vid, placed, duration))
        _write_wav(out / "audio" / f"{vid}.wav", mix, sample_rate)
        if progress is not None:
            progress(n + 1)
    gt = out / f"{split}.jsonl"
    tmp_gt = gt.with_name(gt.name + ".tmp")
    tmp_gt.write_bytes(b"\n".join(lines) + b"\n")
    os.replace(tmp_gt, gt)
    return {
        "recordings": len(picks),
        "queries": len(lines),
        "ground_truth": str(gt),
        "gap_mean_drawn_s": round(float(np.mean(gaps)), 4),
        "segments_available": len(segments),
    }


def _background_files(bg_dir: Path) -> list[Path]:
    files = sorted(p for p in bg_dir.iterdir() if p.suffix.lower() in AUDIO_SUFFIXES) if bg_dir.is_dir() else []
    if not files:
        raise UsageError(f"--background {bg_dir}: no audio files ({', '.join(AUDIO_SUFFIXES)}) there")
    return files


def _segments(backgrounds: list[np.ndarray], seg: int, sample_rate: int) -> list[tuple[int, int]]:
    """Every (background, offset in s) where a ``seg``-sample segment fits, offsets 1 s apart."""
    return [
        (b, off)
        for b, x in enumerate(backgrounds)
        for off in range(0, int((len(x) - seg) // sample_rate) + 1)
        if len(x) >= seg
    ]


def _place(
    rng: np.random.Generator, clips: list[Clip], duration: float, gap_mean: float, sample_rate: int, gaps: list[float]
) -> list[Placed]:
    """Algorithm 1 on one recording; a draw that places nothing is redrawn. Appends every gap to ``gaps``."""
    placed: list[Placed] = []
    for _ in range(MAX_REDRAWS):
        t = 0.0
        while True:
            d = float(rng.exponential(gap_mean))
            gaps.append(d)
            clip = clips[int(rng.integers(len(clips)))]
            caption = clip.captions[int(rng.integers(len(clip.captions)))]
            start = round((t + d) * sample_rate) / sample_rate
            end = start + len(clip.audio) / sample_rate
            if end > duration:
                break
            placed.append((clip, caption, start, end, float(rng.uniform(-5.0, 5.0))))
            t = end
        if placed:
            break
    return placed


def _unique_vid(vid: str, uses: dict[str, int]) -> str:
    """``vid``, or ``vid_<k>`` when the same segment is drawn again (more recordings than segments)."""
    uses[vid] = uses.get(vid, 0) + 1
    return vid if uses[vid] == 1 else f"{vid}_{uses[vid] - 1}"


def _ground_truth_lines(vid: str, placed: list[Placed], duration: float) -> list[bytes]:
    return [
        orjson.dumps(
            {
                "qid": f"{vid}_{k}",
                "query": caption,
                "duration": duration,
                "vid": vid,
                "relevant_windows": [[round(start, 3), round(end, 3)]],
                "fg_dB": round(fg_db, 6),
                "source": clip.path.name,
            }
        )
        for k, (clip, caption, start, end, fg_db) in enumerate(placed)
    ]


def _write_wav(target: Path, mix: np.ndarray, sample_rate: int) -> None:
    """Float WAV written to a temporary name, then renamed: never a half-written file.

    ``scipy.io.wavfile`` writes no PEAK chunk (libsndfile's carries a timestamp), so the same seed
    gives the same bytes.
    """
    tmp = target.with_name(target.name + ".tmp.wav")
    wavfile.write(tmp, sample_rate, mix.astype(np.float32))
    os.replace(tmp, target)
