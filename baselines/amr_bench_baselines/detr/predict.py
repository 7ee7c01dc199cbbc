"""Batched inference: model outputs -> submission records (and optional per-frame saliency).

``predict.method="qd-detr"`` (the ``dcase2026`` preset) is the official prediction path instead:
see ``official_ranked_windows`` and ``official_postprocess``; ``predict_with_config`` picks every
option from a configuration. What follows describes the ``amr-bench`` method.

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

from amr_bench_baselines.detr.config import DetrConfig
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


def official_ranked_windows(spans: np.ndarray, scores: np.ndarray, duration: float) -> list[list[float]]:
    """The official ``evaluate.py`` (``compute_mr_results``) for one query, before post-processing.

    (Q, 2) float32 (centre, width) fractions and (Q,) float32 foreground probabilities ->
    ``[start, end, score]`` rows: ``(centre -+ width / 2) x duration`` in float32, sorted by score
    (descending, stable), every number rounded to 4 decimals as ``float(f"{x:.4f}")``. Windows
    may start before 0 or end after the duration."""
    c, w = spans[:, 0].astype(np.float32), spans[:, 1].astype(np.float32)
    half, d = np.float32(0.5), np.float32(duration)
    rows = np.stack([(c - half * w) * d, (c + half * w) * d, scores.astype(np.float32)], 1).astype(np.float64)
    order = np.argsort(-rows[:, 2], kind="stable")
    return [[float(f"{x:.4f}") for x in row] for row in rows[order].tolist()]


def official_postprocess(rows: list[list[float]], clip_length: float, max_seconds: float) -> list[list[float]]:
    """The official ``PostProcessorDETR(process_func_names=("clip_ts", "round_multiple"))``:
    windows clamped to [0, max_seconds] and rounded (half to even) to multiples of ``clip_length``
    in float32; NOT clamped to the duration and no minimum width (a window may be empty)."""
    if not rows:
        return []
    table = np.asarray(rows, np.float32)
    windows = np.clip(table[:, :2], np.float32(0), np.float32(max_seconds))
    step = np.float32(clip_length)
    windows = np.round(windows / step) * step
    return [
        [float(s), float(e), float(f"{float(p):.4f}")]
        for (s, e), p in zip(windows.tolist(), table[:, 2].tolist(), strict=True)
    ]


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
    method: str = "amr-bench",
    postprocess: bool = True,
) -> list[dict[str, Any]]:
    """One submission record per query of ``dataset``, in dataset order.

    ``method="qd-detr"``: the official prediction path (``official_ranked_windows``, then, with
    ``postprocess``, ``official_postprocess`` with clip length ``round_to`` (1 s when 0) and the
    clamp ``max_seconds`` (300 s when 0)); recordings are cut to ``max_frames`` as the official
    dataset cuts them to ``max_a_l``. ``top_k`` and ``decimals`` do not apply to it."""
    model.eval()
    records: list[dict[str, Any]] = []
    official = method == "qd-detr"
    for batch in iterate_eval(dataset, batch_size, cap=max_frames):
        batch = batch.to(device)
        out = model(batch.audio, batch.audio_mask, batch.text, batch.text_mask)
        probs = out["logits"].float().softmax(-1)[..., FOREGROUND].cpu().numpy()
        spans = out["spans"].float().cpu().numpy()
        saliency = out["saliency"].float().cpu().numpy() if with_saliency else None
        for i, rec in enumerate(batch.records):
            duration = float(rec.get("duration") or batch.frames[i])
            if official:
                rows = official_ranked_windows(spans[i], probs[i], duration)
                if postprocess:
                    rows = official_postprocess(rows, round_to or 1.0, max_seconds or 300.0)
                records.append(
                    {
                        "qid": rec["qid"],
                        "query": rec.get("query", ""),
                        "vid": rec["vid"],
                        "pred_relevant_windows": rows if with_scores else [r[:2] for r in rows],
                    }
                )
                if saliency is not None:
                    records[-1]["pred_saliency_scores"] = np.round(saliency[i, : batch.frames[i]], decimals).tolist()
                continue
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


def predict_with_config(
    model: torch.nn.Module,
    dataset: MomentDataset,
    cfg: DetrConfig,
    device: torch.device | str = "cpu",
    batch_size: int | None = None,
    **options: Any,
) -> list[dict[str, Any]]:
    """``predict_records`` as ``cfg.predict`` says. Batch size: ``batch_size`` when given, else the
    config's (the official 100 under ``dcase2026``), else 64. The official method cuts recordings to
    ``cfg.data.max_audio_frames`` unless ``max_frames`` is given."""
    p = cfg.predict
    if p.method == "qd-detr" and options.get("max_frames") is None:
        options["max_frames"] = cfg.data.max_audio_frames
    return predict_records(
        model,  # type: ignore[arg-type]
        dataset,
        device,
        batch_size=batch_size or p.batch_size or 64,
        round_to=p.round_to,
        max_seconds=p.max_seconds,
        method=p.method,
        **options,
    )
