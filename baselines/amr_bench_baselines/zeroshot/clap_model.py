"""The full MS-CLAP 2023 model (msclap's classes): audio and text encoders for feature extraction.

The model is built from msclap's own classes and config; the weights come from a local file
(``--clap-weights`` or ``AMR_BENCH_CLAP_WEIGHTS``) or, with network, the hub
(:mod:`amr_bench_baselines.zeroshot.clap_weights`). The GPT-2 config and tokenizer come from the hub
(``gpt2``) unless ``AMR_BENCH_CLAP_TEXT_MODEL`` (or ``--text-model``) names a local folder.

Two traps of msclap's caption encoder are handled here: it pools the hidden state at (non-zero
token count - 1) only when the text model's *name* contains ``"gpt"`` and silently pools the
first token otherwise, and it treats any name containing ``"clip"`` as a CLIP model. A local
GPT-2 folder without ``"gpt"`` in its name gets the GPT pooling all the same; a name containing
``"clip"`` is refused with the reason.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from amr_bench.errors import UsageError
from amr_bench_baselines.zeroshot.clap_weights import LoadReport, read_state_dict, resolve_weights
from amr_bench_baselines.zeroshot.msclap_import import msclap_modules
from amr_bench_baselines.zeroshot.projection_heads_torch import ProjectionHeads

TEXT_MODEL_ENV = "AMR_BENCH_CLAP_TEXT_MODEL"
SAMPLE_RATE = 44100
CLIP_SECONDS = 7  # HTSAT's input length in MS-CLAP 2023 (config "duration")
TEXT_LEN = 77
END_OF_TEXT = " <|endoftext|>"


def clean_query(text: str) -> str:
    """Strip ``!`` (GPT-2's pad token in MS-CLAP: one inside a query shifts the pooled token)."""
    return re.sub(r"\s+", " ", text.replace("!", " ")).strip()


def _checked_text_model_name(text_model: str) -> str:
    if "clip" in text_model:
        raise UsageError(
            f"msclap treats any text model whose name contains 'clip' as a CLIP model: {text_model!r}; "
            "put the GPT-2 folder under a path without 'clip'"
        )
    return text_model


def build_clap(text_model: str | None = None) -> Any:
    """An MS-CLAP 2023 model (msclap's classes and config) with untrained weights, in eval mode.

    ``text_model`` is a hub id or a local GPT-2 folder; default ``$AMR_BENCH_CLAP_TEXT_MODEL`` or
    ``gpt2``. The caption encoder always pools the last non-pad token (see the module docstring).
    """
    import yaml

    ms = msclap_modules()
    args = yaml.safe_load((ms.config_dir / "config_2023.yml").read_text())
    text_model = _checked_text_model_name(text_model or os.environ.get(TEXT_MODEL_ENV) or args["text_model"])
    try:
        model = ms.CLAP(
            audioenc_name=args["audioenc_name"],
            sample_rate=args["sampling_rate"],
            window_size=args["window_size"],
            hop_size=args["hop_size"],
            mel_bins=args["mel_bins"],
            fmin=args["fmin"],
            fmax=args["fmax"],
            classes_num=args["num_classes"],
            out_emb=args["out_emb"],
            text_model=text_model,
            transformer_embed_dim=args["transformer_embed_dim"],
            d_proj=args["d_proj"],
        )
    except OSError as exc:
        raise UsageError(
            f"cannot load the text model {text_model!r} ({exc.__class__.__name__}); "
            f"with no network, set {TEXT_MODEL_ENV} to a local GPT-2 folder"
        ) from None
    _use_gpt_pooling(model.caption_encoder, text_model)
    return model.eval()


def _use_gpt_pooling(caption_encoder: Any, text_model: str) -> None:
    """Make msclap's caption encoder pool the last real token whatever the folder is called."""
    kind = getattr(getattr(caption_encoder.base, "config", None), "model_type", None)
    if kind != "gpt2":
        raise UsageError(f"MS-CLAP 2023's text model is GPT-2; {text_model!r} is a {kind!r} model")
    if "gpt" not in caption_encoder.text_model:
        caption_encoder.text_model = f"gpt2 pooling for {text_model}"


class ClapAdapter:
    """MS-CLAP 2023 in evaluation mode: per-window audio embeddings and query encodings."""

    def __init__(self, model: Any, tokenizer: Any, report: LoadReport) -> None:
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.report = report
        self.heads = ProjectionHeads(model.audio_encoder.projection, model.caption_encoder.projection)

    @torch.inference_mode()
    def encode_clips(self, clips: np.ndarray | torch.Tensor) -> np.ndarray:
        """768-d pre-projection HTSAT embeddings of mono 44.1 kHz clips ``(B, samples)``, fed to
        ``audio_encoder.base`` exactly as given (HTSAT stretches any length to its input)."""
        x = torch.as_tensor(np.asarray(clips, dtype=np.float32))
        return self.model.audio_encoder.base(x)["embedding"].float().numpy()

    def audio_features(self, clips: np.ndarray | torch.Tensor) -> np.ndarray:
        """:meth:`encode_clips` after repeat-padding clips shorter than 7 s to 7 s (what msclap's
        file wrapper does), so a 1-s window is seen as 7 repetitions of itself; longer clips are
        an error (no random crop)."""
        x = np.asarray(clips, dtype=np.float32)
        target = SAMPLE_RATE * CLIP_SECONDS
        if x.shape[-1] > target:
            raise ValueError(f"clips longer than {CLIP_SECONDS} s are not supported")
        reps = -(-target // x.shape[-1])
        return self.encode_clips(np.tile(x, (1, reps))[:, :target])

    def _tokens(self, queries: Sequence[str]) -> dict[str, torch.Tensor]:
        texts = [clean_query(q) + END_OF_TEXT for q in queries]
        longest = max(len(self.tokenizer(t)["input_ids"]) for t in texts)
        enc = self.tokenizer(texts, padding="max_length", max_length=max(TEXT_LEN, longest), return_tensors="pt")
        return {"input_ids": enc["input_ids"], "attention_mask": enc["attention_mask"]}

    @torch.inference_mode()
    def text_hidden_states(self, queries: Sequence[str]) -> list[np.ndarray]:
        """GPT-2 hidden states of each query's tokens, (L, 768), last row ``<|endoftext|>``."""
        tok = self._tokens(queries)
        hidden = self.model.caption_encoder.base(**tok)[0].float().numpy()
        lengths = (tok["input_ids"] != 0).sum(-1).numpy()
        return [hidden[i, :n] for i, n in enumerate(lengths)]

    @torch.inference_mode()
    def text_embeddings(self, queries: Sequence[str]) -> torch.Tensor:
        """Projected, L2-normalised query embeddings (B, 1024): MS-CLAP's caption encoder."""
        out = self.model.caption_encoder(self._tokens(queries))
        return nn.functional.normalize(out.float(), dim=-1)


def load_tokenizer(text_model: str) -> Any:
    """The GPT-2 tokenizer of ``text_model`` with MS-CLAP's pad token ``!`` (id 0)."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(text_model)
    tokenizer.add_special_tokens({"pad_token": "!"})
    if tokenizer.pad_token_id != 0:
        raise UsageError(
            f"the tokenizer of {text_model!r} does not map '!' to id 0 "
            "(MS-CLAP pools at the last token that is not id 0)"
        )
    return tokenizer


def token_counter(text_model: str) -> Callable[[str], int]:
    """``count(query)``: the tokens of ``query + " <|endoftext|>"`` as MS-CLAP's extractors feed
    them (the query as given), for finding the end-of-text row of padded text features. The
    tokenizer is loaded on the first call (most feature files never need it)."""
    loaded: list[Any] = []

    def count(query: str) -> int:
        if not loaded:
            try:
                loaded.append(load_tokenizer(text_model))
            except (OSError, ValueError) as exc:
                raise UsageError(f"cannot load the tokenizer of {text_model!r} ({exc.__class__.__name__})") from None
        return len(loaded[0](query + END_OF_TEXT)["input_ids"])

    return count


def load_clap(weights: str | Any | None = None, text_model: str | None = None, download: bool = True) -> ClapAdapter:
    """MS-CLAP 2023 from a local weights file (or the hub download), in eval mode."""
    path = resolve_weights(weights, download=download)
    model = build_clap(text_model)
    result = model.load_state_dict(read_state_dict(path), strict=False)
    report = LoadReport(str(path), list(result.missing_keys), list(result.unexpected_keys))
    text_model = text_model or os.environ.get(TEXT_MODEL_ENV) or "gpt2"
    return ClapAdapter(model.eval(), load_tokenizer(text_model), report)


def random_clap(text_model: str | Any, seed: int = 0) -> ClapAdapter:
    """A random-weight MS-CLAP 2023 (real msclap classes) with the given local text model."""
    torch.manual_seed(seed)
    model = build_clap(str(text_model))
    return ClapAdapter(model, load_tokenizer(str(text_model)), LoadReport("random weights"))
