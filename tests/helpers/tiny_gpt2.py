"""An offline random-weight GPT-2 for tests and benchmarks (no hub access)."""

from __future__ import annotations

from pathlib import Path

import torch


def _gpt2_byte_alphabet() -> list[str]:
    """GPT-2's byte-to-character table in GPT-2's id order (so ``!`` is id 0, as in GPT-2)."""
    keep = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    rest = [b for b in range(256) if b not in keep]
    chars = [chr(b) for b in keep] + [chr(256 + n) for n in range(len(rest))]
    return chars


def write_tiny_gpt2(folder: str | Path, seed: int = 0, n_layer: int = 1, exact_folder: bool = False) -> Path:
    """A random-weight GPT-2 (768-d, ``n_layer`` layers) and a byte-level tokenizer, no hub.

    Unless ``exact_folder``, a folder whose name lacks "gpt" gets a ``tiny-gpt2`` subfolder (the
    name msclap's GPT pooling looks for). For tests and benchmarks.
    """
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import GPT2Config, GPT2Model, GPT2TokenizerFast

    folder = Path(folder)
    if not exact_folder and "gpt" not in folder.name.lower():
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
