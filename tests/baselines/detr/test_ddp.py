"""DistributedDataParallel (2 CPU processes, gloo) gives the single-process updates."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
import torch.distributed as dist
import torch.multiprocessing as mp

from tests.helpers.detr_data import write_toy_dataset

OVERRIDES = {
    "model.hidden": 16,
    "model.ffn": 32,
    "model.heads": 2,
    "model.t2a_layers": 1,
    "model.encoder_layers": 1,
    "model.decoder_layers": 2,
    "model.dropout": 0.0,
    "model.input_dropout": 0.0,
    "train.batch_size": 8,
    "train.epochs": 2,
    "train.lr": 1e-3,
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _worker(rank: int, world: int, port: int, data: str, out: str) -> None:
    os.environ.update(
        MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), WORLD_SIZE=str(world), LOCAL_RANK=str(rank)
    )
    torch.set_num_threads(1)
    from amr_bench_baselines.detr.config import for_model
    from amr_bench_baselines.detr.train import train_run

    dist.init_process_group("gloo", rank=rank, world_size=world)
    try:
        train_run(for_model("lcs-detr").override(OVERRIDES), data, out, progress=False, test_split=None)
    finally:
        dist.destroy_process_group()


@pytest.mark.slow
def test_two_process_ddp_matches_single_process(tmp_path: Path) -> None:
    from safetensors.torch import load_file

    from amr_bench_baselines.detr.config import for_model
    from amr_bench_baselines.detr.train import train_run

    data = write_toy_dataset(tmp_path / "data", {"train": 16, "val": 4}, frames=24)
    torch.set_num_threads(1)
    train_run(for_model("lcs-detr").override(OVERRIDES), data, tmp_path / "single", progress=False, test_split=None)
    mp.start_processes(
        _worker, args=(2, _free_port(), str(data), str(tmp_path / "ddp")), nprocs=2, join=True, start_method="spawn"
    )
    single = load_file(str(tmp_path / "single" / "last" / "model.safetensors"))
    ddp = load_file(str(tmp_path / "ddp" / "last" / "model.safetensors"))
    assert single.keys() == ddp.keys()
    worst = max(float((single[k] - ddp[k]).abs().max()) for k in single)
    assert worst < 1e-4, worst


def _official_worker(rank: int, world: int, port: int, data: str, out: str) -> None:
    os.environ.update(
        MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), WORLD_SIZE=str(world), LOCAL_RANK=str(rank)
    )
    torch.set_num_threads(1)
    from amr_bench_baselines.detr.config import for_model
    from amr_bench_baselines.detr.train import train_run

    dist.init_process_group("gloo", rank=rank, world_size=world)
    try:
        cfg = for_model("am-detr", "dcase2026").override(
            {k: v for k, v in OVERRIDES.items() if k != "model.t2a_layers"}
        )
        train_run(cfg, data, out, progress=False, test_split=None)
    finally:
        dist.destroy_process_group()


@pytest.mark.slow
def test_two_process_ddp_trains_the_official_tree(tmp_path: Path) -> None:
    """The official module tree has a parameter that never gets a gradient (its unused text
    position table); DDP must be told, or its second step fails."""
    data = write_toy_dataset(tmp_path / "data", {"train": 16, "val": 4}, frames=24)
    mp.start_processes(
        _official_worker,
        args=(2, _free_port(), str(data), str(tmp_path / "ddp")),
        nprocs=2,
        join=True,
        start_method="spawn",
    )
    assert (tmp_path / "ddp" / "last" / "model.safetensors").is_file()
