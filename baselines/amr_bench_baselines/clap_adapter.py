"""MS-CLAP for the baselines, by the names used before the modules were split.

The pieces live in modules named for what they do:

* :mod:`amr_bench_baselines.msclap_import`: importing msclap without torchaudio;
* :mod:`amr_bench_baselines.clap_weights`: finding and reading weights files (no msclap);
* :mod:`amr_bench_baselines.projection_heads`: the two projection heads (no msclap);
* :mod:`amr_bench_baselines.clap_model`: the full model, its tokenizer and encoders (msclap).

Importing this module imports neither msclap nor transformers.
"""

from __future__ import annotations

from amr_bench_baselines.clap_model import (
    CLIP_SECONDS,
    SAMPLE_RATE,
    TEXT_LEN,
    TEXT_MODEL_ENV,
    ClapAdapter,
    build_clap,
    clean_query,
    load_clap,
    load_tokenizer,
    random_clap,
    token_counter,
)
from amr_bench_baselines.clap_weights import GET_WEIGHTS_HINT, WEIGHTS_ENV, LoadReport, read_state_dict, resolve_weights
from amr_bench_baselines.msclap_import import msclap_modules
from amr_bench_baselines.projection_heads import (
    AUDIO_PROJ,
    PROJ_PARAMS,
    TEXT_PROJ,
    Projection,
    ProjectionHeads,
    load_projection_heads,
    projection_forward,
    projection_heads,
)

__all__ = [
    "AUDIO_PROJ",
    "CLIP_SECONDS",
    "GET_WEIGHTS_HINT",
    "PROJ_PARAMS",
    "SAMPLE_RATE",
    "TEXT_LEN",
    "TEXT_MODEL_ENV",
    "TEXT_PROJ",
    "WEIGHTS_ENV",
    "ClapAdapter",
    "LoadReport",
    "Projection",
    "ProjectionHeads",
    "build_clap",
    "clean_query",
    "load_clap",
    "load_projection_heads",
    "load_tokenizer",
    "msclap_modules",
    "projection_forward",
    "projection_heads",
    "random_clap",
    "read_state_dict",
    "resolve_weights",
    "token_counter",
]
