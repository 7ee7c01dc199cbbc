"""The one place that imports ``msclap`` (MS-CLAP 2023): model building, weights, projections.

Packaging facts this module copes with (docs/msclap.md):

* ``import msclap`` imports ``torchaudio`` at module import time, and no CPU torchaudio exists
  for the torch this project pins. msclap only needs torchaudio for its own file loading and
  resampling, which this project does itself (``amr_bench_baselines.extract``). So, when ``import
  torchaudio`` fails, an empty stand-in is put in ``sys.modules`` for the duration of msclap's
  import only and removed again afterwards; transformers is imported *before* that, so it never
  sees the stand-in. Nothing in site-packages is edited.
* msclap's wrapper downloads the weights and the ``gpt2`` text model from the Hugging Face hub.
  Here the model is built from msclap's own classes and config, the weights come from a local
  file (``--clap-weights`` or ``AMR_BENCH_CLAP_WEIGHTS``) or, with network, msclap's own
  download (its repo and file name). The GPT-2 config and tokenizer still come from the hub
  (``gpt2``) unless ``AMR_BENCH_CLAP_TEXT_MODEL`` names a local folder.
* ``torch.load(weights_only=False)`` is used for the weights file, which is trusted (it is
  MS-CLAP's own pickle); what ``load_state_dict(strict=False)`` reports is kept and printed.

Projection heads can be loaded without the rest of the model from any weights file with MS-CLAP's
parameter names: a ``.pth`` checkpoint or a simulated dataset's ``clap_projection.npz`` go
through the same path (:func:`read_state_dict` -> :func:`projection_heads`).
"""

from __future__ import annotations

import importlib
import os
import re
import sys
import types
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from amr_bench.errors import InputError, Problem, UsageError

WEIGHTS_ENV = "AMR_BENCH_CLAP_WEIGHTS"
TEXT_MODEL_ENV = "AMR_BENCH_CLAP_TEXT_MODEL"
AUDIO_PROJ = "audio_encoder.projection."
TEXT_PROJ = "caption_encoder.projection."
PROJ_PARAMS = ("linear1.weight", "linear2.weight", "layer_norm.weight", "layer_norm.bias")
SAMPLE_RATE = 44100
CLIP_SECONDS = 7  # HTSAT's input length in MS-CLAP 2023 (config "duration")
TEXT_LEN = 77
GET_WEIGHTS_HINT = (
    "get them with:  pip install huggingface_hub && "
    "huggingface-cli download microsoft/msclap CLAP_weights_2023.pth --local-dir .  "
    f"then pass --clap-weights ./CLAP_weights_2023.pth (or set {WEIGHTS_ENV})"
)

_msclap: types.SimpleNamespace | None = None


def msclap_modules() -> types.SimpleNamespace:
    """msclap's model classes and wrapper, imported once, coping with a missing torchaudio."""
    global _msclap
    if _msclap is not None:
        return _msclap
    try:  # transformers first: it probes for torchaudio and must see the truth
        importlib.import_module("transformers")
        importlib.import_module("huggingface_hub.file_download")
    except ImportError as exc:
        raise UsageError(
            f"the zero-shot baselines need transformers and huggingface_hub ({exc}); "
            "install them with: pip install 'transformers>=4.34,<5' huggingface_hub "
            "torchlibrosa 'librosa>=0.10.2' torch==2.13.0"
        ) from None
    with _torchaudio_stand_in():
        try:
            clap_mod = importlib.import_module("msclap.models.clap")
            wrapper_mod = importlib.import_module("msclap.CLAPWrapper")
        except ImportError as exc:
            raise UsageError(
                f"cannot import msclap ({exc}); install it without its pins with: pip install --no-deps msclap==1.3.4"
            ) from None
    _msclap = types.SimpleNamespace(
        CLAP=clap_mod.CLAP,
        Projection=clap_mod.Projection,
        Wrapper=wrapper_mod.CLAPWrapper,
        config_dir=Path(wrapper_mod.__file__).parent / "configs",
    )
    return _msclap


class _torchaudio_stand_in:
    """Context manager: an empty ``torchaudio`` in ``sys.modules`` only if the real one fails."""

    names = ("torchaudio", "torchaudio.transforms")

    def __enter__(self) -> None:
        self.saved = {n: sys.modules.get(n) for n in self.names}
        self.inserted = False
        try:
            importlib.import_module("torchaudio")
            importlib.import_module("torchaudio.transforms")
        except Exception:  # ImportError, or OSError from a binary built for another torch
            for n in self.names:
                sys.modules.pop(n, None)
            ta = types.ModuleType("torchaudio")
            ta.transforms = types.ModuleType("torchaudio.transforms")  # type: ignore[attr-defined]
            sys.modules.update({"torchaudio": ta, "torchaudio.transforms": ta.transforms})
            self.inserted = True

    def __exit__(self, *exc: object) -> None:
        if self.inserted:
            for n, mod in self.saved.items():
                if mod is None:
                    sys.modules.pop(n, None)
                else:
                    sys.modules[n] = mod


def clean_query(text: str) -> str:
    """Strip ``!`` (GPT-2's pad token in MS-CLAP: one inside a query shifts the pooled token)."""
    return re.sub(r"\s+", " ", text.replace("!", " ")).strip()


# --- weights files -> flat state dict -> modules ----------------------------------------------


def read_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """A flat ``{name: tensor}`` from a ``.pth``/``.pt`` checkpoint or an ``.npz`` of arrays.

    MS-CLAP's checkpoint is ``{"model": state_dict, ...}``; a ``module.`` prefix (DDP) is removed.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(
            [Problem(str(path), None, "weights file not found; " + GET_WEIGHTS_HINT)], f"weights file not found: {path}"
        )
    try:
        if path.suffix == ".npz":
            with np.load(path, allow_pickle=False) as z:
                flat = {k: torch.from_numpy(np.array(z[k])) for k in z.files}
        else:
            # MS-CLAP's own checkpoint is a pickle holding more than tensors: trusted file.
            obj = torch.load(path, map_location="cpu", weights_only=False)
            flat = obj.get("model", obj) if isinstance(obj, dict) else obj
            if not isinstance(flat, dict):
                raise ValueError(f"expected a state dict, found {type(flat).__name__}")
    except Exception as exc:
        raise InputError(
            [Problem(str(path), None, f"unreadable weights file: {exc}")], f"unreadable weights file: {path}"
        ) from None
    return {k.removeprefix("module."): v for k, v in flat.items() if isinstance(v, torch.Tensor)}


@dataclass
class LoadReport:
    """What ``load_state_dict(strict=False)`` said, plus where the weights came from."""

    source: str
    missing: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        out = [f"MS-CLAP weights: {self.source}"]
        for what, keys in (("missing", self.missing), ("unexpected", self.unexpected)):
            if keys:
                shown = ", ".join(keys[:5]) + (f" ... ({len(keys)} in all)" if len(keys) > 5 else "")
                out.append(f"  {len(keys)} {what} key(s): {shown}")
        return out


@dataclass
class ProjectionHeads:
    """MS-CLAP's two ``Projection(768 -> 1024)`` modules, in eval mode.

    ``matmul_dtype`` ``torch.bfloat16`` runs the two matmuls in bfloat16 (oneDNN/AMX on CPUs
    that have it: several times faster, not bit-identical: about 3 significant digits in the
    matmul outputs); everything else stays float32. The default float32 is exact.
    """

    audio: nn.Module
    text: nn.Module
    matmul_dtype: torch.dtype = torch.float32

    @torch.inference_mode()
    def project(self, head: str, x: np.ndarray | torch.Tensor, chunk: int = 8192) -> torch.Tensor:
        """Project rows of ``x`` (N, 768) with the ``"audio"`` or ``"text"`` head, L2-normalised.

        In chunks of ``chunk`` rows (the intermediates stay small); the residual add is fused
        into the second matmul (:func:`projection_forward`).
        """
        module = self.audio if head == "audio" else self.text
        x = torch.as_tensor(np.asarray(x, dtype=np.float32))
        out = [
            nn.functional.normalize(projection_forward(module, x[i : i + chunk], self.matmul_dtype), dim=-1)
            for i in range(0, len(x), chunk)
        ]
        return torch.cat(out) if out else torch.zeros((0, module.linear1.out_features))


def projection_forward(module: nn.Module, x: torch.Tensor, matmul_dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """msclap's ``Projection.forward`` in evaluation mode, ``LN(e + W2 gelu(e))`` with
    ``e = W1 x``, as one matmul, one GELU, one ``addmm`` and one layer norm (the same result up
    to float rounding in float32). Falls back to the module itself for anything but the
    expected layers."""
    l1, l2, ln = (getattr(module, n, None) for n in ("linear1", "linear2", "layer_norm"))
    if (
        module.training
        or not isinstance(l1, nn.Linear)
        or not isinstance(l2, nn.Linear)
        or not isinstance(ln, nn.LayerNorm)
        or l1.bias is not None
        or l2.bias is not None
    ):
        return module(x)
    if matmul_dtype == torch.float32:
        e1 = x @ l1.weight.T
        z = torch.addmm(e1, nn.functional.gelu(e1), l2.weight.T)
    else:
        e1 = (x.to(matmul_dtype) @ l1.weight.to(matmul_dtype).T).float()
        h = nn.functional.gelu(e1).to(matmul_dtype)
        z = (h @ l2.weight.to(matmul_dtype).T).float().add_(e1)
    return nn.functional.layer_norm(z, ln.normalized_shape, ln.weight, ln.bias, ln.eps)


def projection_heads(state: dict[str, torch.Tensor], source: str = "<state dict>") -> ProjectionHeads:
    """Build both projection heads (msclap's own class) from a flat state dict."""
    ms = msclap_modules()
    heads = []
    for prefix in (AUDIO_PROJ, TEXT_PROJ):
        missing = [prefix + p for p in PROJ_PARAMS if prefix + p not in state]
        if missing:
            raise InputError(
                [Problem(source, None, f"no projection weights {', '.join(missing)}")],
                f"not an MS-CLAP weights file: {source}",
            )
        w1 = state[prefix + "linear1.weight"]
        head = ms.Projection(w1.shape[1], w1.shape[0])
        head.load_state_dict({p: state[prefix + p].float() for p in PROJ_PARAMS}, strict=False)
        heads.append(head.eval())
    return ProjectionHeads(audio=heads[0], text=heads[1])


def load_projection_heads(path: str | Path) -> ProjectionHeads:
    """Projection heads from a ``.pth`` checkpoint or an ``.npz`` (e.g. ``clap_projection.npz``)."""
    return projection_heads(read_state_dict(path), str(path))


# --- the whole model ---------------------------------------------------------------------------


def resolve_weights(weights: str | Path | None, download: bool = True) -> Path:
    """The local weights file: the argument, else ``$AMR_BENCH_CLAP_WEIGHTS``, else msclap's download."""
    chosen = weights or os.environ.get(WEIGHTS_ENV)
    if chosen:
        path = Path(chosen)
        if not path.is_file():
            raise UsageError(f"MS-CLAP weights not found at {path}; {GET_WEIGHTS_HINT}")
        return path
    if not download:
        raise UsageError(f"no MS-CLAP weights given; {GET_WEIGHTS_HINT}")
    ms = msclap_modules()
    from huggingface_hub import hf_hub_download

    try:
        return Path(hf_hub_download(ms.Wrapper.model_repo, ms.Wrapper.model_name["2023"]))
    except Exception as exc:
        raise UsageError(
            f"could not download the MS-CLAP 2023 weights ({type(exc).__name__}); {GET_WEIGHTS_HINT}"
        ) from None


def build_clap(text_model: str | None = None) -> nn.Module:
    """An MS-CLAP 2023 model (msclap's classes and config) with untrained weights, in eval mode.

    ``text_model`` is a hub id or a local folder of a GPT-2 model (its name must contain "gpt"
    for MS-CLAP's pooling); default ``$AMR_BENCH_CLAP_TEXT_MODEL`` or ``gpt2``.
    """
    import yaml

    ms = msclap_modules()
    args = yaml.safe_load((ms.config_dir / "config_2023.yml").read_text())
    text_model = text_model or os.environ.get(TEXT_MODEL_ENV) or args["text_model"]
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
    return model.eval()


class ClapAdapter:
    """MS-CLAP 2023 in evaluation mode: per-window audio embeddings and query encodings."""

    def __init__(self, model: nn.Module, tokenizer: Any, report: LoadReport) -> None:
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.report = report
        self.heads = ProjectionHeads(model.audio_encoder.projection, model.caption_encoder.projection)

    @torch.inference_mode()
    def audio_features(self, clips: np.ndarray | torch.Tensor) -> np.ndarray:
        """768-d pre-projection HTSAT embeddings of mono 44.1 kHz clips ``(B, samples)``.

        Clips shorter than 7 s are repeat-padded to 7 s (what msclap's wrapper does), so a 1-s
        window is seen as 7 repetitions of itself; longer clips are an error (no random crop).
        """
        x = torch.as_tensor(np.asarray(clips, dtype=np.float32))
        target = SAMPLE_RATE * CLIP_SECONDS
        if x.shape[-1] > target:
            raise ValueError(f"clips longer than {CLIP_SECONDS} s are not supported")
        reps = -(-target // x.shape[-1])
        x = x.repeat(1, reps)[:, :target]
        return self.model.audio_encoder.base(x)["embedding"].float().numpy()

    def _tokens(self, queries: Sequence[str]) -> dict[str, torch.Tensor]:
        texts = [clean_query(q) + " <|endoftext|>" for q in queries]
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
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(text_model)
    tokenizer.add_special_tokens({"pad_token": "!"})
    if tokenizer.pad_token_id != 0:
        raise UsageError(
            f"the tokenizer of {text_model!r} does not map '!' to id 0 "
            "(MS-CLAP pools at the last token that is not id 0)"
        )
    return tokenizer


def load_clap(weights: str | Path | None = None, text_model: str | None = None, download: bool = True) -> ClapAdapter:
    """MS-CLAP 2023 from a local weights file (or msclap's download), in eval mode."""
    path = resolve_weights(weights, download=download)
    model = build_clap(text_model)
    result = model.load_state_dict(read_state_dict(path), strict=False)
    report = LoadReport(str(path), list(result.missing_keys), list(result.unexpected_keys))
    text_model = text_model or os.environ.get(TEXT_MODEL_ENV) or "gpt2"
    return ClapAdapter(model.eval(), load_tokenizer(text_model), report)


# --- an offline GPT-2 for tests and benchmarks -------------------------------------------------


def _gpt2_byte_alphabet() -> list[str]:
    """GPT-2's byte-to-character table in GPT-2's id order (so ``!`` is id 0, as in GPT-2)."""
    keep = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    rest = [b for b in range(256) if b not in keep]
    chars = [chr(b) for b in keep] + [chr(256 + n) for n in range(len(rest))]
    return chars


def write_tiny_gpt2(folder: str | Path, seed: int = 0, n_layer: int = 1) -> Path:
    """A random-weight GPT-2 (768-d, ``n_layer`` layers) and a byte-level tokenizer, no hub.

    The folder name ends in ``gpt2`` so MS-CLAP uses its GPT pooling. For tests and benchmarks.
    """
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import GPT2Config, GPT2Model, GPT2TokenizerFast

    folder = Path(folder)
    if folder.name.lower().find("gpt") < 0:
        folder = folder / "tiny-gpt2"
    vocab = {ch: i for i, ch in enumerate(_gpt2_byte_alphabet())}
    vocab["<|endoftext|>"] = len(vocab)
    core = Tokenizer(models.BPE(vocab=vocab, merges=[]))
    core.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    core.decoder = decoders.ByteLevel()
    eos = "<|endoftext|>"
    GPT2TokenizerFast(tokenizer_object=core, bos_token=eos, eos_token=eos, unk_token=eos).save_pretrained(folder)
    torch.manual_seed(seed)
    config = GPT2Config(vocab_size=len(vocab), n_positions=512, n_embd=768, n_layer=n_layer, n_head=4)
    GPT2Model(config).save_pretrained(folder)
    return folder


def random_clap(text_model: str | Path, seed: int = 0) -> ClapAdapter:
    """A random-weight MS-CLAP 2023 (real msclap classes) with the given local text model."""
    torch.manual_seed(seed)
    model = build_clap(str(text_model))
    return ClapAdapter(model, load_tokenizer(str(text_model)), LoadReport("random weights"))


def iter_batches(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]
