"""Paths of the files bundled with amr-bench (they ship in the wheel; sources in ``NOTICE``).

Example:
    >>> from amr_bench.bundled import REFERENCE_RUN
    >>> REFERENCE_RUN.name
    'qddetr_castella_val_preds.jsonl'
"""

from __future__ import annotations

from pathlib import Path

#: The folder of the bundled data: ``ground_truth/`` (the splits of ``amr-bench datasets list``)
#: and ``reference_runs/``.
DATA = Path(__file__).resolve().parent / "data"
#: A real run: the official DCASE 2026 Task 6 baseline (QD-DETR, lighthouse) on CASTELLA val,
#: 352 queries; score it with ``--gt castella/val``.
REFERENCE_RUN = DATA / "reference_runs" / "qddetr_castella_val_preds.jsonl"
#: What the official scorer printed for :data:`REFERENCE_RUN` (its ``brief`` and ``full`` blocks).
REFERENCE_RUN_OFFICIAL_METRICS = DATA / "reference_runs" / "qddetr_castella_val_metrics_official.json"
