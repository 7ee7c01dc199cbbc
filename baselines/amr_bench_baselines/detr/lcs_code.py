"""LCS-DETR as its public code builds it (preset ``lcs-code``; ``model.gated_layers="lcs-code"``).

The public code of "Local Continuity Saliency DETR for Language-based Audio Moment Retrieval" (DCASE
2026 Task 6 technical report; repository MinLee0210/DCASE_2026, ``src/models/lcs_detr/``) differs
from the report's description. What this module follows (read from the code, written anew here):

- **gated text-to-audio layers**: audio frames (plus their positions) attend to the text tokens
  with *no* query/key/value projections, only an output projection; the softmax attention weights
  of frame i are multiplied by its gate s_i before the attention dropout; both residual branches
  go through drop-path (stochastic depth, 0.1); the dropout inside the layers is the *input*
  dropout (0.5 in the code's configs); the FFN (PReLU, slope 0.25) output is layer-normed before
  its residual, and the sum is normed again; one LayerNorm shared by the gated layers follows each
  of them and is applied once more after the last;
- **the pooled text of the gate** is a learned aggregation: a CaiT-style class-attention layer (a
  learned query attends to the layer-normed, key/value-projected text tokens; LayerScale 1e-4 on
  the attention and FFN residuals), "Going deeper with Image Transformers" (arXiv 2103.17239) and
  its use in SG-DETR;
- **gate** ``s_i = sigmoid(beta * cos(a_i, pooled text) + alpha)`` with beta starting at 20 and
  alpha at 0 (the continuity block, when on, smooths only what the gate sees);
- **the negative pair** (each recording with the next query's text) does not pass through the
  gate or the gated layers: projected audio goes straight to the ungated text-to-audio layers and
  the encoder;
- **class loss**: softmax focal loss on the 2-way logits, p_t clamped to [1e-5, 1 - 1e-5] and
  log p_t to at least -12, alpha 0.25 for the foreground and 0.75 for the background, gamma 2,
  averaged over batch x queries (no background weight, no division by the number of moments).

Remaining differences from the code are listed in ``docs/baselines.md`` (section LCS-DETR).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from amr_bench_baselines.detr.config import ModelConfig
from amr_bench_baselines.detr.model import FOREGROUND, LcsDetr, SaliencyGate, frame_positions, sine_embedding

PRELU_SLOPE = 0.25  # the code's FFN activation: PReLU initialised at 0.25
LAYER_SCALE = 1e-4  # CaiT LayerScale initial value of the class-attention residuals
FOCAL_PT_CLAMP = 1e-5
FOCAL_LOG_PT_MIN = -12.0


def softmax_focal_loss(logits: Tensor, is_fg: Tensor, alpha: float, gamma: float) -> Tensor:
    """Per query ``-alpha_t (1 - p_t)^gamma log p_t`` from 2-way logits (..., 2); ``is_fg`` (...) bool.

    p_t is the softmax probability of the target class (foreground = index 0), clamped to
    [1e-5, 1 - 1e-5], and log p_t clamped to at least -12; alpha_t is ``alpha`` for foreground
    targets and ``1 - alpha`` for background ones."""
    log_prob = F.log_softmax(logits.float(), dim=-1)
    target = torch.where(is_fg, FOREGROUND, 1 - FOREGROUND).unsqueeze(-1)
    log_pt = log_prob.gather(-1, target).squeeze(-1)
    pt = log_pt.exp().clamp(FOCAL_PT_CLAMP, 1 - FOCAL_PT_CLAMP)
    log_pt = log_pt.clamp(min=FOCAL_LOG_PT_MIN)
    alpha_t = torch.where(is_fg, alpha, 1 - alpha)
    return -alpha_t * (1 - pt) ** gamma * log_pt


class DropPath(nn.Module):
    """Stochastic depth: in training, a whole residual branch of one recording is zeroed with
    probability ``p`` and the kept ones are scaled by 1 / (1 - p); the identity in eval mode."""

    def __init__(self, p: float) -> None:
        super().__init__()
        self.p = p

    def forward(self, x: Tensor) -> Tensor:
        if not self.training or self.p == 0.0:
            return x
        keep = 1.0 - self.p
        mask = torch.rand((x.shape[0],) + (1,) * (x.dim() - 1), device=x.device, dtype=x.dtype) < keep
        return x * mask / keep


def code_ffn(d: int, ffn: int, dropout: float) -> nn.Sequential:
    return nn.Sequential(nn.Linear(d, ffn), nn.PReLU(init=PRELU_SLOPE), nn.Dropout(dropout), nn.Linear(ffn, d))


class GatedTextToAudioLayer(nn.Module):
    """One gated layer: projection-free cross-attention of frames to text, gate on the weights,
    drop-path on both residuals, LayerNorm on the FFN output and after the sum."""

    def __init__(self, d: int, heads: int, ffn: int, dropout: float, drop_path: float) -> None:
        super().__init__()
        self.heads, self.dropout = heads, dropout
        self.out = nn.Linear(d, d)
        self.ffn = code_ffn(d, ffn, dropout)
        self.norm1, self.norm2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.drop_path = DropPath(drop_path)

    def attend(self, audio: Tensor, audio_pos: Tensor, text: Tensor, text_mask: Tensor, gate: Tensor) -> Tensor:
        b, t, d = audio.shape
        h = self.heads
        q = (audio + audio_pos).view(b, t, h, d // h).transpose(1, 2) / math.sqrt(d // h)
        kv = text.view(b, text.shape[1], h, d // h).transpose(1, 2)
        logits = (q @ kv.transpose(-1, -2)).masked_fill(~text_mask[:, None, None, :], float("-inf"))
        weights = logits.softmax(-1) * gate[:, None, :, None].to(logits.dtype)
        weights = F.dropout(weights, self.dropout, self.training)
        return self.out((weights @ kv).transpose(1, 2).reshape(b, t, d))

    def forward(self, audio: Tensor, audio_pos: Tensor, text: Tensor, text_mask: Tensor, gate: Tensor) -> Tensor:
        x = audio + self.drop_path(self.attend(audio, audio_pos, text, text_mask, gate))
        x = x + self.drop_path(self.norm1(self.ffn(x)))
        return self.norm2(x)


class GatedTextToAudioStack(nn.Module):
    """The gated layers and the one LayerNorm they share (after each layer and once more at the end)."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        d = cfg.hidden
        self.layers = nn.ModuleList(
            GatedTextToAudioLayer(d, cfg.heads, cfg.ffn, cfg.input_dropout, cfg.drop_path)
            for _ in range(cfg.t2a_layers)
        )
        self.norm = nn.LayerNorm(d)
        for p in self.parameters():
            if p.dim() > 1:
                nn.init.xavier_uniform_(p)

    def forward(self, audio: Tensor, audio_mask: Tensor, text: Tensor, text_mask: Tensor, gate: Tensor) -> Tensor:
        pos = sine_embedding(frame_positions(audio_mask), audio.shape[-1]).to(audio.dtype)
        x = audio
        for layer in self.layers:
            x = self.norm(layer(x, pos, text, text_mask, gate))
        return self.norm(x)


class ClassAttentionPool(nn.Module):
    """CaiT class attention: a learned query attends to the layer-normed text tokens through
    key/value projections (multi-head, output projection), then an FFN; both residuals scaled by
    LayerScale vectors starting at 1e-4. (B, L, d) tokens + (B, L) mask -> (B, d)."""

    def __init__(self, d: int, heads: int, ffn: int, dropout: float = 0.1) -> None:
        super().__init__()
        self.heads = heads
        self.query = nn.Parameter(torch.empty(d))
        self.attn_norm, self.ffn_norm = nn.LayerNorm(d), nn.LayerNorm(d)
        self.k, self.v, self.out = nn.Linear(d, d), nn.Linear(d, d), nn.Linear(d, d)
        self.ffn = code_ffn(d, ffn, dropout)
        self.gamma_attn = nn.Parameter(torch.full((d,), LAYER_SCALE))
        self.gamma_ffn = nn.Parameter(torch.full((d,), LAYER_SCALE))
        nn.init.trunc_normal_(self.query, std=0.02)
        for lin in (self.k, self.v):
            nn.init.trunc_normal_(lin.weight, std=0.02)
            nn.init.zeros_(lin.bias)

    def forward(self, text: Tensor, text_mask: Tensor) -> Tensor:
        b, n, d = text.shape
        h = self.heads
        x = self.attn_norm(text)
        k = self.k(x).view(b, n, h, d // h).transpose(1, 2)
        v = self.v(x).view(b, n, h, d // h).transpose(1, 2)
        q = self.query.view(1, h, 1, d // h) / math.sqrt(d // h)
        logits = (q @ k.transpose(-1, -2)).masked_fill(~text_mask[:, None, None, :], float("-inf"))
        attended = self.out((logits.softmax(-1) @ v).transpose(1, 2).reshape(b, d))
        pooled = self.query.expand(b, d) + self.gamma_attn * attended
        return pooled + self.gamma_ffn * self.ffn(self.ffn_norm(pooled))


class ClassAttentionGate(SaliencyGate):
    """The saliency gate with the text pooled by class attention (the code's LocalSaliencyHead)."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__(cfg.gate_init_alpha, cfg.gate_init_beta)
        self.class_attention = ClassAttentionPool(cfg.hidden, cfg.heads, cfg.ffn)

    def pool(self, text: Tensor, text_mask: Tensor) -> Tensor:
        return self.class_attention(text, text_mask)


class LcsCodeDetr(LcsDetr):
    """LCS-DETR with the public code's gated layers, class-attention text pooling and ungated negative.

    The gated layers run in the fusion front end (``prepare_audio``), so ``self.t2a`` is empty and
    the negative pair, which skips the front end, meets only the ungated layers and the encoder."""

    negative_skips_front_end = True

    def __init__(self, cfg: ModelConfig) -> None:
        if not cfg.saliency_gate:
            raise ValueError("model.gated_layers='lcs-code' needs model.saliency_gate=true")
        super().__init__(cfg)
        self.t2a = nn.ModuleList()
        self.gated = GatedTextToAudioStack(cfg)
        if cfg.text_pool == "class-attention":
            self.gate = ClassAttentionGate(cfg)

    def prepare_audio(
        self, audio: Tensor, audio_mask: Tensor, text: Tensor, text_mask: Tensor
    ) -> tuple[Tensor, Tensor | None]:
        smoothed = self.continuity(audio, audio_mask) if self.continuity is not None else audio
        assert self.gate is not None
        gate = self.gate(smoothed, text, text_mask)
        stream = smoothed if self.cfg.continuity_target == "features" else audio
        return self.gated(stream, audio_mask, text, text_mask, gate), gate
