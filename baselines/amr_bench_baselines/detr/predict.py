"""Batched inference: model outputs -> submission records (and optional per-frame saliency).

Each query gets its ``top_k`` (10) windows in seconds: (center, width) fractions times the number
of audio frames, clamped to [0, duration], sorted by foreground probability (descending, stable),
``[start, end, score]`` (or ``[start, end]`` in the DCASE score-less format, where the order is
the ranking). As lighthouse does, windows can be rounded to multiples of ``round_to`` seconds
(1 s) and clamped to ``max_seconds`` (150 s) besides the duration (``PredictConfig``; the
``lighthouse`` preset sets both). Recordings are NOT cut to the training length here: positions are relative, so a
300-s CASTELLA recording is seen whole even if training capped at fewer frames.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from amr_bench_baselines.detr.data import MomentDataset, iterate_eval
from amr_bench_baselines.detr.model import FOREGROUND, MomentDetr

MIN_WIDTH = 1e-3  # seconds; a clamped window never collapses to zero length


def windows_from_outputs(
    spans: np.ndarray,
    scores: np.ndarray,
    frames: int,
    duration: float,
    top_k: int,
    round_to: float = 0.0,
    max_seconds: float = 0.0,
) -> np.ndarray:
    """(Q,2) center/width fractions + (Q,) scores -> (k,3) [start, end, score] sorted by score."""
    limit = min(duration, max_seconds) if max_seconds > 0 else duration
    start = (spans[:, 0] - spans[:, 1] / 2) * frames
    end = (spans[:, 0] + spans[:, 1] / 2) * frames
    if round_to > 0:
        start, end = np.round(start / round_to) * round_to, np.round(end / round_to) * round_to
    start = np.clip(start, 0.0, limit)
    end = np.clip(end, 0.0, limit)
    width = max(round_to, MIN_WIDTH) if round_to > 0 and limit >= round_to else MIN_WIDTH
    end = np.maximum(end, np.minimum(start + width, limit))
    start = np.minimum(start, end - width).clip(min=0.0)
    order = np.argsort(-scores, kind="stable")[:top_k]
    return np.stack([start[order], end[order], scores[order]], 1)


@torch.no_grad()
def predict_records(
    model: MomentDetr,
    dataset: MomentDataset,
    device: torch.device | str = "cpu",
    batch_size: int = 64,
    top_k: int = 10,
    with_scores: bool = True,
    with_saliency: bool = False,
    max_frames: int | None = None,
    decimals: int = 4,
    round_to: float = 0.0,
    max_seconds: float = 0.0,
) -> list[dict[str, Any]]:
    """One submission record per query of ``dataset``, in dataset order."""
    model.eval()
    records: list[dict[str, Any]] = []
    for batch in iterate_eval(dataset, batch_size, cap=max_frames):
        batch = batch.to(device)
        out = model(batch.audio, batch.audio_mask, batch.text, batch.text_mask)
        probs = out["logits"].float().softmax(-1)[..., FOREGROUND].cpu().numpy()
        spans = out["spans"].float().cpu().numpy()
        saliency = out["saliency"].float().cpu().numpy() if with_saliency else None
        for i, rec in enumerate(batch.records):
            duration = float(rec.get("duration") or batch.frames[i])
            w = windows_from_outputs(spans[i], probs[i], batch.frames[i], duration, top_k, round_to, max_seconds)
            w = np.round(w, decimals)
            w[:, :2] = np.minimum(w[:, :2], duration)
            line: dict[str, Any] = {
                "qid": rec["qid"],
                "query": rec.get("query", ""),
                "vid": rec["vid"],
                "pred_relevant_windows": (w if with_scores else w[:, :2]).tolist(),
            }
            if saliency is not None:
                line["pred_saliency_scores"] = np.round(saliency[i, : batch.frames[i]], decimals).tolist()
            records.append(line)
    return records
