"""Feature extraction in the official layout: per-second MS-CLAP audio features, query token features.

Audio (any sample rate, mono or stereo; read with soundfile, resampled to 44.1 kHz as torchaudio
does, :mod:`amr_bench_baselines.zeroshot.resample`): cut into per-second clips by a named framing
(:mod:`amr_bench_baselines.zeroshot.audio_framing`: ``lighthouse`` by default, ``wrapper`` or ``repeat7``),
each clip's 768-d HTSAT embedding (before the projection) is one frame. Written to
``OUT/clap/<file stem>.npz`` (key ``features``).

Text: for each line ``{qid, query}`` of a JSONL file, the GPT-2 hidden states of MS-CLAP's tokens
of ``query + " <|endoftext|>"`` (pad tokens dropped, ``!`` stripped from the query), written to
``OUT/clap_text/qid<qid>.npz`` (key ``last_hidden_state``, then ``attention_mask``, all ones);
its last row is the pooled token.

Both are batched, show a progress bar, and are resumable: a file already present is skipped
(files are written atomically, so a crash never leaves one that looks finished).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from amr_bench.errors import InputError, Problem, UsageError
from amr_bench_baselines.zeroshot.audio_framing import DEFAULT_FRAMING, SAMPLE_RATE, check_framing, framed_clips, mono

AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".mp3", ".aiff", ".aif")


@dataclass
class ExtractSummary:
    written: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    seconds: float = 0.0  # audio seconds processed (audio extraction only)

    def line(self, what: str) -> str:
        return (
            f"{what}: {len(self.written)} written, {len(self.skipped)} already present "
            f"(skipped), {len(self.problems)} failed"
        )


def read_audio(path: str | Path, rate: int = SAMPLE_RATE, framing: str = DEFAULT_FRAMING) -> np.ndarray:
    """Mono float32 samples of ``path`` at ``rate`` Hz (channels mixed as ``framing`` does)."""
    import soundfile as sf

    from amr_bench_baselines.zeroshot.resample import resample

    data, sr = sf.read(str(path), dtype="float32", always_2d=True)
    wave = mono(data, framing)
    if sr != rate:
        wave = resample(wave, int(sr), rate)
    return np.ascontiguousarray(wave, dtype=np.float32)


def audio_files(folder: str | Path) -> list[Path]:
    folder = Path(folder)
    if not folder.is_dir():
        raise UsageError(f"the audio folder {folder} does not exist (or is not a folder)")
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in AUDIO_SUFFIXES)
    if not files:
        raise UsageError(f"no audio files ({', '.join(AUDIO_SUFFIXES)}) in {folder}")
    return files


def _progress(items: Sequence[Any], desc: str, show: bool) -> Iterable[Any]:
    if not show:
        return items
    from tqdm import tqdm

    return tqdm(items, desc=desc, unit="file")


def extract_audio_features(
    adapter: Any,
    files: Sequence[Path],
    out_root: str | Path,
    batch_size: int = 16,
    resume: bool = True,
    progress: bool = True,
    framing: str = DEFAULT_FRAMING,
) -> ExtractSummary:
    """Write ``OUT/clap/<stem>.npz`` for every file, clips cut by ``framing``; a file too short
    for one frame is a problem, like an unreadable one (see the module docstring)."""
    from amr_bench.datasets.features import FeatureStore

    check_framing(framing)
    store = FeatureStore(out_root)
    summary = ExtractSummary()
    for path in _progress(files, "audio features", progress):
        vid = path.stem
        if resume and store.has_audio(vid):
            summary.skipped.append(vid)
            continue
        try:
            wave = read_audio(path, framing=framing)
        except Exception as exc:
            summary.problems.append(Problem(str(path), None, f"unreadable audio: {exc}"))
            continue
        clips = framed_clips(wave, framing)
        if not len(clips):
            seconds = len(wave) / SAMPLE_RATE
            summary.problems.append(
                Problem(str(path), None, f"{seconds:.3f} s: no whole second for the {framing} framing")
            )
            continue
        feats = np.concatenate(
            [adapter.encode_clips(clips[i : i + batch_size]) for i in range(0, len(clips), batch_size)]
        )
        store.write_audio(vid, feats)
        summary.written.append(vid)
        summary.seconds += len(wave) / SAMPLE_RATE
    return summary


def read_queries(path: str | Path) -> list[tuple[Any, str]]:
    """``(qid, query)`` of every line of a JSONL file; bad lines are an ``InputError``."""
    from amr_bench.jsonl import read_jsonl

    f = read_jsonl(path)
    problems = list(f.problems)
    out: list[tuple[Any, str]] = []
    for rec, line in zip(f.records, f.lines, strict=True):
        if not isinstance(rec, dict) or "qid" not in rec or not isinstance(rec.get("query"), str):
            problems.append(Problem(str(path), line, 'expected an object with "qid" and a string "query"'))
            continue
        out.append((rec["qid"], rec["query"]))
    if any(p.is_error for p in problems):
        raise InputError(problems, f"cannot read queries from {path}")
    return out


def extract_text_features(
    adapter: Any,
    queries: Sequence[tuple[Any, str]],
    out_root: str | Path,
    batch_size: int = 64,
    resume: bool = True,
    progress: bool = True,
) -> ExtractSummary:
    """Write ``OUT/clap_text/qid<qid>.npz`` for every query; see the module docstring."""
    from amr_bench.datasets.features import FeatureStore

    store = FeatureStore(out_root)
    summary = ExtractSummary()
    todo = [(q, t) for q, t in queries if not (resume and store.has_text(q))]
    summary.skipped = [str(q) for q, _ in queries if resume and store.has_text(q)]
    batches = [todo[i : i + batch_size] for i in range(0, len(todo), batch_size)]
    for batch in _progress(batches, "text features", progress):
        for (qid, _), hidden in zip(batch, adapter.text_hidden_states([t for _, t in batch]), strict=True):
            store.write_text(qid, hidden, mask=np.ones(len(hidden), dtype=np.int64))
            summary.written.append(str(qid))
    return summary
