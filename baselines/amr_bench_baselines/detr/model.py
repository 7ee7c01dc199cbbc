"""AM-DETR (QD-DETR on audio) and LCS-DETR, with a registry instead of ``if model_name == ...``.

Data flow of one forward pass (B recordings, T frames, L text tokens, Q queries, d hidden):

1. input projections: audio (768 + 2-d endpoint feature) and text (768) -> d, two blocks of
   LayerNorm -> Dropout(input_dropout) -> Linear (-> ReLU on all but the last);
2. (LCS-DETR) local continuity block on the audio stream and the cosine saliency gate;
3. text-to-audio encoder: audio frames attend to the text tokens (cross-attention; the gate, if
   any, scales each frame's attended values), FFN, post-norm;
4. self-attention encoder over [global token; audio];
5. DAB-DETR decoder over the frames: Q learned (center, width) anchors; conditional
   cross-attention (per head, query = [content; sine(anchor) scaled by the content and by
   predicted width / anchor width], key = [content; frame position]); each layer refines the
   anchors (span head offsets in inverse-sigmoid space, anchors detached between layers);
6. heads: 2-way class (index 0 = foreground), span (3-layer MLP) and per-frame saliency
   (dot product of projected frames with the projected global token, / sqrt(d)).

Options that follow the official QD-DETR code (``ModelConfig``; the ``lighthouse`` preset sets
them): PReLU in the text-to-audio FFNs, a separate refinement MLP for the references with the
output spans on the undetached references, a final decoder LayerNorm, xavier / N(0, 1)
initialisation. LCS-DETR's public-code options: the continuity block feeding only the gate,
attention-pooled text, ungated text-to-audio layers after the gated ones, and a saliency
amplifier (frames times 1 + gate) with one self-attention layer before the decoder.

Spans are (center, width) fractions of the input length T (frame i covers [i, i+1) s).
Positions are sine embeddings of frame-centre fractions, so any T works at inference time.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from amr_bench_baselines.detr.config import ModelConfig

FOREGROUND = 0  # class index of "this query's span is a moment"

MODELS: dict[str, type[MomentDetr]] = {}


def register(name: str) -> Callable[[type[MomentDetr]], type[MomentDetr]]:
    def add(cls: type[MomentDetr]) -> type[MomentDetr]:
        MODELS[name] = cls
        return cls

    return add


def build_model(cfg: ModelConfig) -> MomentDetr:
    """The model ``cfg`` describes; ``layout="qd-detr"`` gives the official module tree (``qd_detr.QdDetr``)."""
    if cfg.layout == "qd-detr":
        if cfg.name != "am-detr":
            raise ValueError(f"the qd-detr layout is the official AM-DETR network; not available for {cfg.name!r}")
        from amr_bench_baselines.detr.qd_detr import QdDetr

        return QdDetr(cfg)  # type: ignore[return-value]  # same forward contract as MomentDetr
    if cfg.gated_layers == "lcs-code":  # LCS-DETR as its public code builds it (its own module)
        from amr_bench_baselines.detr.lcs_code import LcsCodeDetr

        if cfg.name != "lcs-detr":
            raise ValueError(f"model.gated_layers='lcs-code' is an LCS-DETR option; model is {cfg.name!r}")
        return LcsCodeDetr(cfg)
    if cfg.text_pool == "class-attention":
        raise ValueError("model.text_pool='class-attention' needs model.gated_layers='lcs-code'")
    if cfg.name not in MODELS:
        raise ValueError(f"unknown model {cfg.name!r}; registered: {', '.join(sorted(MODELS))}")
    return MODELS[cfg.name](cfg)


def inverse_sigmoid(x: Tensor, eps: float = 1e-4) -> Tensor:
    x = x.clamp(eps, 1 - eps)
    return torch.log(x / (1 - x))


def sine_embedding(pos: Tensor, dim: int, temperature: float = 10000.0) -> Tensor:
    """(..., ) positions in [0, 1] -> (..., dim) [sin, cos] features at geometric frequencies."""
    half = dim // 2
    freqs = temperature ** (torch.arange(half, device=pos.device, dtype=torch.float32) / half)
    angles = pos.float().unsqueeze(-1) * (2 * math.pi) / freqs
    return torch.cat([angles.sin(), angles.cos()], dim=-1)


def frame_positions(mask: Tensor) -> Tensor:
    """(B, T) valid mask -> (B, T) frame-centre fractions of each recording's own length."""
    length = mask.sum(1, keepdim=True).clamp(min=1).float()
    idx = torch.arange(mask.shape[1], device=mask.device).float().unsqueeze(0)
    return ((idx + 0.5) / length).clamp(max=1.0)


class MLP(nn.Module):
    def __init__(self, dim_in: int, hidden: int, dim_out: int, layers: int) -> None:
        super().__init__()
        dims = [dim_in] + [hidden] * (layers - 1) + [dim_out]
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in itertools.pairwise(dims))

    def forward(self, x: Tensor) -> Tensor:
        for i, layer in enumerate(self.layers):
            x = layer(x)
            if i < len(self.layers) - 1:
                x = F.relu(x)
        return x


def input_projection(dim_in: int, hidden: int, layers: int, dropout: float) -> nn.Sequential:
    blocks: list[nn.Module] = []
    for i in range(layers):
        blocks += [nn.LayerNorm(dim_in if i == 0 else hidden), nn.Dropout(dropout)]
        blocks.append(nn.Linear(dim_in if i == 0 else hidden, hidden))
        if i < layers - 1:
            blocks.append(nn.ReLU())
    return nn.Sequential(*blocks)


def activation(name: str) -> nn.Module:
    return nn.PReLU() if name == "prelu" else nn.ReLU()


class FeedForward(nn.Module):
    def __init__(self, d: int, ffn: int, dropout: float, act: str = "relu") -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(d, ffn), activation(act), nn.Dropout(dropout), nn.Linear(ffn, d))
        self.drop = nn.Dropout(dropout)
        self.norm = nn.LayerNorm(d)

    def forward(self, x: Tensor) -> Tensor:
        return self.norm(x + self.drop(self.net(x)))


class _AttentionLayer(nn.Module):
    """Post-norm attention + feed-forward block; subclasses say who attends to what."""

    def __init__(self, d: int, heads: int, ffn: int, dropout: float, act: str = "relu") -> None:
        super().__init__()
        self.attn = nn.MultiheadAttention(d, heads, dropout=dropout, batch_first=True)
        self.drop = nn.Dropout(dropout)
        self.norm = nn.LayerNorm(d)
        self.ffn = FeedForward(d, ffn, dropout, act)


class TextToAudioLayer(_AttentionLayer):
    """Audio frames (queries) attend to text tokens (keys/values); optional per-frame value gate."""

    def forward(self, audio: Tensor, audio_pos: Tensor, text: Tensor, text_mask: Tensor, gate: Tensor | None) -> Tensor:
        attended, _ = self.attn(audio + audio_pos, text, text, key_padding_mask=~text_mask, need_weights=False)
        if gate is not None:
            # sum_j a_ij (s_i v_j) = s_i sum_j a_ij v_j: gating frame i's values is scaling its output.
            attended = attended * gate.unsqueeze(-1)
        return self.ffn(self.norm(audio + self.drop(attended)))


class EncoderLayer(_AttentionLayer):
    """Self-attention over [global token; audio frames]."""

    def forward(self, x: Tensor, pos: Tensor, mask: Tensor) -> Tensor:
        q = x + pos
        out, _ = self.attn(q, q, x, key_padding_mask=~mask, need_weights=False)
        return self.ffn(self.norm(x + self.drop(out)))


class ConditionalCrossAttention(nn.Module):
    """Conditional-DETR / DAB-DETR cross-attention: per head, the query is [content; positional]
    and the key is [content; position of the frame], so attention can look at a place (near the
    anchor) and at a kind of content separately; values are content only."""

    def __init__(self, d: int, heads: int, dropout: float, first: bool) -> None:
        super().__init__()
        self.heads, self.dropout = heads, dropout
        self.q_content = nn.Linear(d, d)
        # the positional query is added to the content query in the first layer only (DAB-DETR)
        self.q_pos = nn.Linear(d, d) if first else None
        self.q_sine = nn.Linear(d, d)
        self.k_content, self.k_pos = nn.Linear(d, d), nn.Linear(d, d)
        self.v = nn.Linear(d, d)
        self.out = nn.Linear(d, d)

    def split(self, x: Tensor) -> Tensor:
        b, n, d = x.shape
        return x.view(b, n, self.heads, d // self.heads).transpose(1, 2)

    def forward(
        self, tgt: Tensor, query_pos: Tensor, query_sine: Tensor, memory: Tensor, memory_pos: Tensor, mask: Tensor
    ) -> Tensor:
        q = self.q_content(tgt)
        k = self.k_content(memory)
        if self.q_pos is not None:
            q = q + self.q_pos(query_pos)
            k = k + self.k_pos(memory_pos)
        q = torch.cat([self.split(q), self.split(self.q_sine(query_sine))], -1)
        k = torch.cat([self.split(k), self.split(self.k_pos(memory_pos))], -1)
        v = self.split(self.v(memory))
        attn_mask = mask[:, None, None, :]
        out = F.scaled_dot_product_attention(
            q, k, v, attn_mask=attn_mask, dropout_p=self.dropout if self.training else 0.0
        )
        b, _, n, _ = out.shape
        return self.out(out.transpose(1, 2).reshape(b, n, -1))


class DecoderLayer(nn.Module):
    def __init__(self, d: int, heads: int, ffn: int, dropout: float, first: bool) -> None:
        super().__init__()
        self.self_attn = nn.MultiheadAttention(d, heads, dropout=dropout, batch_first=True)
        self.cross_attn = ConditionalCrossAttention(d, heads, dropout, first)
        self.drop1, self.drop2 = nn.Dropout(dropout), nn.Dropout(dropout)
        self.norm1, self.norm2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.ffn = FeedForward(d, ffn, dropout)

    def forward(
        self, tgt: Tensor, query_pos: Tensor, query_sine: Tensor, memory: Tensor, memory_pos: Tensor, mask: Tensor
    ) -> Tensor:
        q = tgt + query_pos
        out, _ = self.self_attn(q, q, tgt, need_weights=False)
        tgt = self.norm1(tgt + self.drop1(out))
        out = self.cross_attn(tgt, query_pos, query_sine, memory, memory_pos, mask)
        tgt = self.norm2(tgt + self.drop2(out))
        return self.ffn(tgt)


class LocalContinuityBlock(nn.Module):
    """x + Conv1x1(GELU(DepthwiseConv_k(x))) over time (LCS-DETR eq. 3); padded frames stay zero."""

    def __init__(self, d: int, kernel: int) -> None:
        super().__init__()
        self.depthwise = nn.Conv1d(d, d, kernel, padding=kernel // 2, groups=d)
        self.pointwise = nn.Conv1d(d, d, 1)

    def forward(self, x: Tensor, mask: Tensor) -> Tensor:
        m = mask.unsqueeze(-1).to(x.dtype)
        h = (x * m).transpose(1, 2)
        h = self.pointwise(F.gelu(self.depthwise(h))).transpose(1, 2)
        return (x + h) * m


class SaliencyGate(nn.Module):
    """s_i = sigmoid(beta * cos(a_i, pooled text) + alpha), learnable alpha and beta (LCS-DETR eq. 2).

    The text is pooled by its masked mean (the report) or by learned attention weights (the code)."""

    def __init__(self, init_alpha: float, init_beta: float, d: int = 0, attention_pool: bool = False) -> None:
        super().__init__()
        self.alpha = nn.Parameter(torch.tensor(float(init_alpha)))
        self.beta = nn.Parameter(torch.tensor(float(init_beta)))
        self.pool_score = nn.Linear(d, 1) if attention_pool else None

    def pool(self, text: Tensor, text_mask: Tensor) -> Tensor:
        if self.pool_score is not None:
            logits = self.pool_score(text).squeeze(-1).masked_fill(~text_mask, float("-inf"))
            return (logits.softmax(-1).unsqueeze(-1) * text).sum(1)
        m = text_mask.unsqueeze(-1).to(text.dtype)
        return (text * m).sum(1) / m.sum(1).clamp(min=1)

    def forward(self, audio: Tensor, text: Tensor, text_mask: Tensor) -> Tensor:
        pooled = self.pool(text, text_mask)
        cos = F.cosine_similarity(audio, pooled.unsqueeze(1), dim=-1, eps=1e-6)
        return torch.sigmoid(self.beta * cos + self.alpha)


class MomentDetr(nn.Module):
    """The shared QD-DETR body; subclasses override ``prepare_audio`` (the fusion front end)."""

    # the mismatched (negative) pair skips the fusion front end (LCS-DETR's public code: no gate)
    negative_skips_front_end = False

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.cfg = cfg
        d = cfg.hidden
        audio_in = cfg.audio_dim + (2 if cfg.use_endpoint_feature else 0)
        self.audio_proj = input_projection(audio_in, d, cfg.input_layers, cfg.input_dropout)
        self.text_proj = input_projection(cfg.text_dim, d, cfg.input_layers, cfg.input_dropout)
        act = cfg.t2a_activation
        self.t2a = nn.ModuleList(
            TextToAudioLayer(d, cfg.heads, cfg.ffn, cfg.dropout, act) for _ in range(cfg.t2a_layers)
        )
        self.t2a_ungated = nn.ModuleList(
            TextToAudioLayer(d, cfg.heads, cfg.ffn, cfg.dropout, act) for _ in range(cfg.ungated_t2a_layers)
        )
        self.encoder = nn.ModuleList(
            EncoderLayer(d, cfg.heads, cfg.ffn, cfg.dropout) for _ in range(cfg.encoder_layers)
        )
        self.decoder = nn.ModuleList(
            DecoderLayer(d, cfg.heads, cfg.ffn, cfg.dropout, i == 0) for i in range(cfg.decoder_layers)
        )
        self.global_token = nn.Parameter(torch.randn(d) * 0.02)
        self.global_pos = nn.Parameter(torch.randn(d) * 0.02)
        anchors = torch.stack([torch.linspace(0.05, 0.95, cfg.queries), torch.full((cfg.queries,), 0.2)], -1)
        self.anchors = nn.Parameter(inverse_sigmoid(anchors))  # learned (center, width) logits
        self.anchor_pos = MLP(d, d, d, 2)
        self.query_scale = MLP(d, d, d, 2)
        self.width_head = MLP(d, d, 1, 2)
        self.class_head = nn.Linear(d, 2)
        self.span_head = MLP(d, d, 2, 3)
        # QD-DETR: one MLP refines the references between layers, another gives the output spans
        self.refine_head = MLP(d, d, 2, 3) if cfg.span_heads == "separate" else None
        self.decoder_norm = nn.LayerNorm(d) if cfg.decoder_norm else None
        self.pre_decoder = EncoderLayer(d, cfg.heads, cfg.ffn, cfg.dropout) if cfg.saliency_amplifier else None
        self.saliency_frame = nn.Linear(d, d)
        self.saliency_global = nn.Linear(d, d)
        if cfg.init == "qd-detr":
            self.qd_detr_init()
        else:
            last = self.span_head.layers[-1]
            assert isinstance(last, nn.Linear)
            nn.init.zeros_(last.weight)  # the first spans are the anchors
            nn.init.zeros_(last.bias)

    def qd_detr_init(self) -> None:
        """Xavier-uniform matrices in the transformer; N(0, 1) global token, its position and anchor logits."""
        for part in (self.t2a, self.t2a_ungated, self.encoder, self.decoder, self.pre_decoder):
            if part is None:
                continue
            for p in part.parameters():
                if p.dim() > 1:
                    nn.init.xavier_uniform_(p)
        nn.init.normal_(self.global_token)
        nn.init.normal_(self.global_pos)
        nn.init.normal_(self.anchors)

    # -- fusion front end -------------------------------------------------------------------
    def prepare_audio(
        self, audio: Tensor, audio_mask: Tensor, text: Tensor, text_mask: Tensor
    ) -> tuple[Tensor, Tensor | None]:
        """Projected audio -> (audio stream for the T2A encoder, per-frame value gate or None)."""
        return audio, None

    def encode(
        self, audio: Tensor, audio_mask: Tensor, text: Tensor, text_mask: Tensor, front_end: bool = True
    ) -> tuple[Tensor, Tensor, Tensor, Tensor | None]:
        """Projected inputs -> (memory (B, 1+T, d), memory positions, memory mask, per-frame gate or None)."""
        pos = sine_embedding(frame_positions(audio_mask), self.cfg.hidden).to(audio.dtype)
        x, gate = self.prepare_audio(audio, audio_mask, text, text_mask) if front_end else (audio, None)
        for layer in self.t2a:
            x = layer(x, pos, text, text_mask, gate)
        for layer in self.t2a_ungated:
            x = layer(x, pos, text, text_mask, None)
        b = x.shape[0]
        x = torch.cat([self.global_token.expand(b, 1, -1).to(x.dtype), x], 1)
        pos = torch.cat([self.global_pos.expand(b, 1, -1).to(pos.dtype), pos], 1)
        mask = torch.cat([audio_mask.new_ones(b, 1), audio_mask], 1)
        for layer in self.encoder:
            x = layer(x, pos, mask)
        return x, pos, mask, gate

    def amplify(self, frames: Tensor, pos: Tensor, mask: Tensor, gate: Tensor | None) -> Tensor:
        """(LCS-DETR code) frames scaled by (1 + gate), then one self-attention layer, before the decoder."""
        if self.pre_decoder is None:
            return frames
        if gate is not None:
            frames = frames * (1 + gate.unsqueeze(-1).to(frames.dtype))
        return self.pre_decoder(frames, pos, mask)

    def saliency(self, memory: Tensor) -> Tensor:
        frames, glob = self.saliency_frame(memory[:, 1:]), self.saliency_global(memory[:, 0])
        return (frames * glob.unsqueeze(1)).sum(-1) / math.sqrt(self.cfg.hidden)

    def forward(
        self,
        audio: Tensor,
        audio_mask: Tensor,
        text: Tensor,
        text_mask: Tensor,
        negative_text: Tensor | None = None,
        negative_text_mask: Tensor | None = None,
    ) -> dict[str, Any]:
        """Returns ``logits`` (B,Q,2), ``spans`` (B,Q,2) (center, width), ``saliency`` (B,T),
        ``aux`` (the same per earlier decoder layer) and, given negative text, ``saliency_negative``."""
        a = self.audio_proj(audio)
        t = self.text_proj(text)
        memory, mem_pos, mem_mask, gate = self.encode(a, audio_mask, t, text_mask)
        out: dict[str, Any] = {"saliency": self.saliency(memory)}
        if negative_text is not None:
            assert negative_text_mask is not None
            neg_text = self.text_proj(negative_text)
            front_end = not self.negative_skips_front_end
            neg_memory, _, _, _ = self.encode(a, audio_mask, neg_text, negative_text_mask, front_end)
            out["saliency_negative"] = self.saliency(neg_memory)

        b = audio.shape[0]
        ref = torch.sigmoid(self.anchors).unsqueeze(0).expand(b, -1, -1)
        tgt = memory.new_zeros(b, self.cfg.queries, self.cfg.hidden)
        # the decoder reads the frames only (the global token feeds the saliency head)
        frames, frame_pos, frame_mask = memory[:, 1:], mem_pos[:, 1:], mem_mask[:, 1:]
        frames = self.amplify(frames, frame_pos, frame_mask, gate)
        half = self.cfg.hidden // 2
        layers: list[tuple[Tensor, Tensor]] = []
        ref_out = ref  # the reference the output spans refine (undetached with separate heads)
        for i, layer in enumerate(self.decoder):
            sine = torch.cat([sine_embedding(ref[..., 0], half), sine_embedding(ref[..., 1], half)], -1).to(tgt.dtype)
            query_pos = self.anchor_pos(sine)
            # conditional spatial query: scaled by the content (after the first layer), then
            # sharpened by (predicted reference width / anchor width) (DAB-DETR's modulated attention)
            query_sine = sine if i == 0 else sine * self.query_scale(tgt)
            query_sine = query_sine * (torch.sigmoid(self.width_head(tgt)) / ref[..., 1:].clamp(min=1e-3))
            tgt = layer(tgt, query_pos, query_sine, frames, frame_pos, frame_mask)
            hs = self.decoder_norm(tgt) if self.decoder_norm is not None else tgt
            if self.refine_head is None:
                spans = torch.sigmoid(self.span_head(hs) + inverse_sigmoid(ref))
                ref = spans.detach()
            else:
                spans = torch.sigmoid(self.span_head(hs) + inverse_sigmoid(ref_out))
                ref_out = torch.sigmoid(self.refine_head(tgt) + inverse_sigmoid(ref))
                ref = ref_out.detach()
            layers.append((self.class_head(hs), spans))
        out["logits"], out["spans"] = layers[-1]
        out["aux"] = [{"logits": lg, "spans": sp} for lg, sp in layers[:-1]]
        return out


@register("am-detr")
class AmDetr(MomentDetr):
    """QD-DETR on audio (AM-DETR, arXiv 2409.15672): no fusion front end beyond the text-to-audio encoder."""

    def __init__(self, cfg: ModelConfig) -> None:
        if cfg.saliency_gate or cfg.continuity_block:
            raise ValueError("am-detr has no saliency gate or continuity block; use lcs-detr")
        super().__init__(cfg)


@register("lcs-detr")
class LcsDetr(MomentDetr):
    """AM-DETR + local continuity block + cosine saliency gate on the T2A values (LCS-DETR technical report)."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__(cfg)
        self.continuity = LocalContinuityBlock(cfg.hidden, cfg.continuity_kernel) if cfg.continuity_block else None
        self.gate = (
            SaliencyGate(cfg.gate_init_alpha, cfg.gate_init_beta, cfg.hidden, cfg.text_pool == "attention")
            if cfg.saliency_gate
            else None
        )

    def prepare_audio(
        self, audio: Tensor, audio_mask: Tensor, text: Tensor, text_mask: Tensor
    ) -> tuple[Tensor, Tensor | None]:
        smoothed = self.continuity(audio, audio_mask) if self.continuity is not None else audio
        gate = self.gate(smoothed, text, text_mask) if self.gate is not None else None
        stream = smoothed if self.cfg.continuity_target == "features" else audio
        return stream, gate
