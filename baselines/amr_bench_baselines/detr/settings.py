"""From command-line values to a training configuration and runs (the CLI only parses and prints).

``resolve_config`` applies, in order: the preset (or a saved ``config.json``), the ``--set``
overrides, then the dedicated options (``--epochs``, ``--lr`` ...). Every problem with these values
is a ``SettingsError`` (a usage error: exit status 2), raised before any training starts; problems
found later in the data are ``InputError`` (exit status 1).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from amr_bench.errors import UsageError
from amr_bench_baselines.detr.config import DetrConfig
from amr_bench_baselines.detr.presets import preset_config

SELECT_METRIC = re.compile(r"^(R1@0\.\d+|mAP|mAP@0\.\d+|mIoU@1)$")


class SettingsError(UsageError):
    """A command-line value cannot become a configuration (unknown key, preset, metric...)."""


def parse_seeds(text: str | None) -> list[int] | None:
    """``"0,1,2"`` -> ``[0, 1, 2]``; distinct integers only."""
    if text is None:
        return None
    try:
        seeds = [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise SettingsError(f"--seeds takes comma-separated integers like 0,1,2; got {text!r}") from None
    if not seeds or len(set(seeds)) != len(seeds):
        raise SettingsError(f"--seeds needs distinct integers; got {text!r}")
    return seeds


def parse_overrides(pairs: list[str]) -> dict[str, Any]:
    """``["model.hidden=128", "train.schedule=cosine"]`` -> ``{"model.hidden": 128, ...}`` (JSON values)."""
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise SettingsError(f"--set takes SECTION.NAME=VALUE (e.g. model.hidden=128); got {pair!r}")
        try:
            out[key.strip()] = json.loads(value)
        except json.JSONDecodeError:
            out[key.strip()] = value  # a bare string such as cosine
    return out


def resolve_config(
    model: str,
    preset: str | None = None,
    config_file: Path | None = None,
    overrides: dict[str, Any] | None = None,
    **options: Any,
) -> DetrConfig:
    """The configuration of one run. ``options`` are dotted keys with None meaning "not given"."""
    try:
        if config_file is not None:
            if preset is not None:
                raise SettingsError("give --preset or --config, not both")
            base = DetrConfig.from_dict(json.loads(config_file.read_text()))
        else:
            base = preset_config(model, preset)
        given = {k: v for k, v in options.items() if v is not None}
        cfg = base.override({"model.name": model, **(overrides or {}), **given})
    except SettingsError:
        raise
    except (ValueError, TypeError, OSError) as exc:
        raise SettingsError(str(exc)) from None
    cfg.preset = base.preset
    if not SELECT_METRIC.match(cfg.train.select_metric):
        raise SettingsError(
            f"unknown selection metric {cfg.train.select_metric!r}; use R1@0.5, R1@0.7, mAP, mAP@0.5, mAP@0.75 ..."
        )
    return cfg


def run_training(cfg: DetrConfig, settings: Any, seeds: list[int] | None = None) -> str:
    """Train one run (or one per seed) and return the lines to print."""
    from amr_bench_baselines.detr.train import format_summary, train, train_seeds

    if seeds:
        options = {k: v for k, v in vars(settings).items() if k not in ("data_root", "out")}
        return format_summary(train_seeds(cfg, seeds, settings.data_root, settings.out, **options))
    result = train(cfg, settings)
    val = result.best_metrics
    return (
        f"{cfg.model.name} ({cfg.preset or 'no preset'}) seed {cfg.train.seed}: best epoch {result.best_epoch}, val "
        + ", ".join(f"{k} {100 * val[k]:.2f}" for k in ("R1@0.5", "R1@0.7", "mAP") if k in val)
        + f"; checkpoint {settings.out / 'best'}"
    )
