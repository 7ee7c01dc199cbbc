"""Batched inference: model outputs -> submission records (and optional per-frame saliency).

Each query gets its ``top_k`` (10) windows in seconds: (center, width) fractions times the number
of audio frames, clamped to [0, duration], sorted by foreground probability (descending, stable),
``[start, end, score]`` (or ``[start, end]`` in the DCASE score-less format, where the order is
the ranking). Recordings are NOT cut to the training length here: positions are relative, so a
300-s CASTELLA recording is seen whole even if training capped at fewer frames.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from amr_bench_baselines.detr.data import MomentDataset, iterate_eval
from amr_bench_baselines.detr.model import FOREGROUND, MomentDetr

MIN_WIDTH = 1e-3  # seconds; a clamped window never collapses to zero length


def windows_from_outputs(spans: np.ndarray, scores: np.ndarray, frames: int, duration: float, top_k: int) -> np.ndarray:
    """(Q,2) center/width fractions + (Q,) scores -> (k,3) [start, end, score] sorted by score."""
    start = (spans[:, 0] - spans[:, 1] / 2) * frames
    end = (spans[:, 0] + spans[:, 1] / 2) * frames
    start = np.clip(start, 0.0, duration)
    end = np.clip(end, 0.0, duration)
    end = np.maximum(end, np.minimum(start + MIN_WIDTH, duration))
    start = np.minimum(start, end - MIN_WIDTH).clip(min=0.0)
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
) -> list[dict[str, Any]]:
    """One submission record per query of ``dataset``, in dataset order."""
    model.eval()
    records: list[dict[str, Any]] = []
    for batch in iterate_eval(dataset, batch_size, cap=max_frames):
        batch = batch.to(device)
        out = model(batch.audio, batch.audio_mask, batch.text, batch.text_mask)
        probs = out["logits"].float().softmax(-1)[..., FOREGROUND].cpu().numpy()  # type: ignore[union-attr]
        spans = out["spans"].float().cpu().numpy()  # type: ignore[union-attr]
        saliency = out["saliency"].float().cpu().numpy() if with_saliency else None  # type: ignore[union-attr]
        for i, rec in enumerate(batch.records):
            duration = float(rec.get("duration") or batch.frames[i])
            w = windows_from_outputs(spans[i], probs[i], batch.frames[i], duration, top_k)
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
