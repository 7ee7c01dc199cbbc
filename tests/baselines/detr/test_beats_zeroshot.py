"""The paper's central claim on a small simulated benchmark: briefly trained AM-DETR and LCS-DETR
beat clip-level retrieval (clap-cosine: raw 768-d frame/text cosine, peak/FWHM) on R1@0.7.

Not one lucky seed: every seed must beat clap-cosine and the mean of the seeds must beat it by 10
points. Measured with the tiny configuration below (test R1@0.7, seeds 0 / 1 / 2): AM-DETR
33.3 / 48.6 / 40.3, LCS-DETR 30.6 / 38.9 / 45.8, clap-cosine 15.3. Before the conditional
cross-attention decoder a similar budget gave 13 ± 6.

The configuration is the ``v0`` preset (the first version's loss normalisations and protocol,
under which these numbers were measured) at a tiny size. With QD-DETR's normalisations and the
default presets' protocol the same 6-epoch budget is not enough (measured for LCS-DETR:
18.1 / 9.7 / 26.4); ``tests/baselines/detr/test_sim_cpu_beats_zeroshot.py`` checks the ``sim-cpu`` preset.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

SEEDS = (0, 1, 2)
TINY = {
    "model.hidden": 32,
    "model.ffn": 64,
    "model.heads": 4,
    "model.t2a_layers": 1,
    "model.encoder_layers": 1,
    "model.decoder_layers": 2,
    "model.dropout": 0.0,
    "model.input_dropout": 0.0,
    "train.epochs": 6,
    "train.lr": 1e-3,
    "train.batch_size": 8,
    "train.patience": 0,
    "train.schedule": "constant",
}


@pytest.fixture(scope="session")
def small_benchmark(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, float]:
    """300 simulated Clotho-Moment-style recordings and clap-cosine's test R1@0.7 on them."""
    from amr_bench.datasets.simulate import simulate
    from amr_bench.scoring import score_records
    from amr_bench_baselines.zeroshot.clap_cosine import clap_cosine
    from amr_bench_baselines.zeroshot.curves import load_split_data

    data = tmp_path_factory.mktemp("detr-sim") / "sim"
    simulate(data, recordings=300, seed=0, style="clotho-moment")
    split = load_split_data(data, "test")
    return data, float(score_records(clap_cosine(split), split.gt).raw["R1"]["0.7"])


@pytest.mark.slow
@pytest.mark.parametrize("model", ["am-detr", "lcs-detr"])
def test_tiny_detr_beats_clap_cosine_on_r1_at_0_7_over_seeds(
    model: str, small_benchmark: tuple[Path, float], tmp_path: Path
) -> None:
    from amr_bench_baselines.detr.config import for_model
    from amr_bench_baselines.detr.train import train_run

    torch.set_num_threads(1)
    data, zero_shot = small_benchmark
    scores = []
    for seed in SEEDS:
        cfg = for_model(model, "v0").override({**TINY, "train.seed": seed})
        result = train_run(cfg, data, tmp_path / f"seed-{seed}", progress=False)
        assert result.test_metrics is not None
        scores.append(result.test_metrics["R1@0.7"])
    assert min(scores) > zero_shot, (model, scores, zero_shot)
    assert np.mean(scores) > zero_shot + 0.10, (model, scores, zero_shot)
