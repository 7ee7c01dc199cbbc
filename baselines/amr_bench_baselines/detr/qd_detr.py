"""The official DCASE 2026 Task 6 baseline network (QD-DETR on audio), tensor for tensor.

The ``dcase2026`` preset builds this module (``model.layout="qd-detr"``). Its ``state_dict`` has
the names and shapes of the official model's (the baseline repository's ``src/qd_detr.py``
``QDDETR`` and ``src/qd_detr_transformer.py`` ``Transformer``), so an official ``train.py``
checkpoint loads into it unchanged and an export loads into the official ``evaluate.py``:
7,123,237 trainable parameters at the DCASE configuration, the text position embedding that the
official model builds and never uses included (it gets no gradient, so AdamW never moves it).

What it computes (B recordings, T frames, L text rows, Q queries, d hidden; batch-first here):

1. input projections: two blocks of LayerNorm -> Dropout -> Linear (ReLU after the first);
2. sine positions of the audio frames: ``2 pi * cumsum(mask) / (frames + 1e-6)`` at interleaved
   sin / cos frequencies ``10000^(2 floor(i/2) / d)``; text positions are zeros;
3. ``t2v_encoder``: audio frames (query: frames + positions) attend to the text rows, post-norm,
   PReLU feed-forward;
4. ``encoder``: self-attention over [global token; frames] with [global position; positions];
5. ``decoder`` (DAB-DETR): Q learned (centre, width) anchor logits; self-attention with separate
   content and position projections of queries and keys; conditional cross-attention (per head
   [content; sine(anchor)] against [content; frame position], the position added to the content
   in the first layer only), the sine query scaled by ``query_scale`` after the first layer and
   by (predicted width / anchor width); ``bbox_embed`` refines the anchors between layers
   (detached), every layer's output goes through the final LayerNorm;
6. heads: ``class_embed`` (index 0 = foreground), ``span_embed`` added to the undetached
   reference in inverse-sigmoid space (eps 1e-3), and the saliency score
   ``saliency_proj1(frame) . saliency_proj2(global) / sqrt(d)``;
7. the negative pair: the projected text rolled by one over the batch (query i with the text of
   query i + 1), through the encoders again, for ``saliency_negative``.

Initialisation as the official code does it: PyTorch defaults, then xavier-uniform over every
matrix of the transformer (the decoder's MLPs included), N(0, 1) for the global token, its
position, the anchors and the text position table.
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from amr_bench_baselines.detr.config import ModelConfig
from amr_bench_baselines.detr.model import MLP


def inverse_sigmoid(x: Tensor, eps: float = 1e-3) -> Tensor:
    """The official inverse sigmoid: ``log(max(x, eps) / max(1 - x, eps))`` with x in [0, 1]."""
    x = x.clamp(0, 1)
    return torch.log(x.clamp(min=eps) / (1 - x).clamp(min=eps))


def interleaved_sine(values: Tensor, dim: int) -> Tensor:
    """(...,) values already scaled -> (..., dim): [sin(v/f0), cos(v/f0), sin(v/f2), cos(v/f2), ...]."""
    i = torch.arange(dim, dtype=torch.float32, device=values.device)
    freqs = 10000 ** (2 * torch.div(i, 2, rounding_mode="floor") / dim)
    angles = values[..., None] / freqs
    return torch.stack((angles[..., 0::2].sin(), angles[..., 1::2].cos()), dim=-1).flatten(-2)


def frame_sine_positions(mask: Tensor, dim: int) -> Tensor:
    """(B, T) valid mask -> (B, T, dim) positions of the official ``PositionEmbeddingSine``."""
    cum = mask.float().cumsum(1)
    return interleaved_sine(cum / (cum[:, -1:] + 1e-6) * (2 * math.pi), dim)


def anchor_sine(ref: Tensor, dim: int) -> Tensor:
    """(B, Q, 2) (centre, width) -> (B, Q, dim): the official ``gen_sineembed_for_position``."""
    half = dim // 2
    return torch.cat(
        [interleaved_sine(ref[..., 0] * 2 * math.pi, half), interleaved_sine(ref[..., 1] * 2 * math.pi, half)], -1
    )


class ProjectedAttention(nn.Module):
    """Multi-head attention on already projected queries, keys and values (only ``out_proj`` is
    learned here; the official decoder's ``MultiheadAttention``). Scale 1 / sqrt(query dim / heads)."""

    def __init__(self, value_dim: int, heads: int, dropout: float) -> None:
        super().__init__()
        self.heads, self.dropout = heads, dropout
        self.out_proj = nn.Linear(value_dim, value_dim)
        nn.init.zeros_(self.out_proj.bias)

    def split(self, x: Tensor) -> Tensor:
        b, n, d = x.shape
        return x.view(b, n, self.heads, d // self.heads).transpose(1, 2)

    def forward(self, q: Tensor, k: Tensor, v: Tensor, key_mask: Tensor | None = None) -> Tensor:
        """``key_mask`` (B, S): True where a key may be attended to."""
        mask = key_mask[:, None, None, :] if key_mask is not None else None
        out = F.scaled_dot_product_attention(
            self.split(q),
            self.split(k),
            self.split(v),
            attn_mask=mask,
            dropout_p=self.dropout if self.training else 0.0,
        )
        b, _, n, _ = out.shape
        return self.out_proj(out.transpose(1, 2).reshape(b, n, -1))


class _FeedForwardLayer(nn.Module):
    """The official layers' feed-forward part: ``linear1`` -> PReLU -> dropout -> ``linear2``.
    Subclasses create their modules in the official order, so ``parameters()`` lists them as the
    official model does (an exported optimizer state lines up)."""

    linear1: nn.Linear
    linear2: nn.Linear
    dropout: nn.Dropout
    activation: nn.PReLU

    def add_feed_forward(self, d: int, ffn: int, dropout: float) -> None:
        self.linear1 = nn.Linear(d, ffn)
        self.dropout = nn.Dropout(dropout)
        self.linear2 = nn.Linear(ffn, d)

    def feed_forward(self, x: Tensor) -> Tensor:
        return self.linear2(self.dropout(self.activation(self.linear1(x))))


class _SelfAttentionLayer(_FeedForwardLayer):
    """The modules of the official encoder and text-to-audio layers, in the official order:
    ``self_attn``, the feed-forward, ``norm1``/``norm2``, ``dropout1``/``dropout2``, PReLU."""

    def __init__(self, d: int, heads: int, ffn: int, dropout: float) -> None:
        super().__init__()
        self.self_attn = nn.MultiheadAttention(d, heads, dropout=dropout, batch_first=True)
        self.add_feed_forward(d, ffn, dropout)
        self.norm1, self.norm2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.dropout1, self.dropout2 = nn.Dropout(dropout), nn.Dropout(dropout)
        self.activation = nn.PReLU()


class TextToAudioLayer(_SelfAttentionLayer):
    """``t2v_encoder`` layer: frames attend to the text rows; ``norm2(x + FFN(norm1(x)))`` with
    x = frames + attention (the official ``T2V_TransformerEncoderLayer.forward_post``)."""

    def forward(self, audio: Tensor, audio_mask: Tensor, audio_pos: Tensor, text: Tensor, text_mask: Tensor) -> Tensor:
        heads = self.self_attn.num_heads
        # The official mask: (frame padded AND row padded), repeated head-major while attention reads
        # it batch-major, so item b's head h gets the mask of item (b * heads + h) % B: in a batch of
        # mixed lengths, late frames of one recording may not see some text rows of another's
        # padding pattern. Kept: the published numbers were made with it (predictions depend on the batch).
        quirk = (~audio_mask[:, :, None] & ~text_mask[:, None, :]).repeat(heads, 1, 1)
        out = self.self_attn(
            audio + audio_pos, text, text, key_padding_mask=~text_mask, attn_mask=quirk, need_weights=False
        )[0]
        x = audio + self.dropout1(out)
        # the official residual adds the feed-forward of norm1(x) to x itself, not to norm1(x)
        return self.norm2(x + self.dropout2(self.feed_forward(self.norm1(x))))


class EncoderLayer(_SelfAttentionLayer):
    """``encoder`` layer: self-attention over [global token; frames], post-norm."""

    def forward(self, x: Tensor, pos: Tensor, mask: Tensor) -> Tensor:
        q = x + pos
        out = self.self_attn(q, q, x, key_padding_mask=~mask, need_weights=False)[0]
        x = self.norm1(x + self.dropout1(out))
        return self.norm2(x + self.dropout2(self.feed_forward(x)))


class DecoderLayer(_FeedForwardLayer):
    """``decoder`` layer: content/position self-attention, conditional cross-attention, FFN."""

    def __init__(self, d: int, heads: int, ffn: int, dropout: float, first: bool) -> None:
        super().__init__()
        self.sa_qcontent_proj, self.sa_qpos_proj = nn.Linear(d, d), nn.Linear(d, d)
        self.sa_kcontent_proj, self.sa_kpos_proj = nn.Linear(d, d), nn.Linear(d, d)
        self.sa_v_proj = nn.Linear(d, d)
        self.self_attn = ProjectedAttention(d, heads, dropout)
        self.norm1 = nn.LayerNorm(d)
        self.dropout1 = nn.Dropout(dropout)
        self.ca_qcontent_proj = nn.Linear(d, d)
        # the query's position joins its content in the first layer only (official keep_query_pos=False)
        self.ca_qpos_proj = nn.Linear(d, d) if first else None
        self.ca_kcontent_proj, self.ca_kpos_proj = nn.Linear(d, d), nn.Linear(d, d)
        self.ca_v_proj = nn.Linear(d, d)
        self.ca_qpos_sine_proj = nn.Linear(d, d)
        self.cross_attn = ProjectedAttention(d, heads, dropout)
        self.add_feed_forward(d, ffn, dropout)
        self.norm2, self.norm3 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.dropout2, self.dropout3 = nn.Dropout(dropout), nn.Dropout(dropout)
        self.activation = nn.PReLU()
        self.heads = heads

    def per_head_cat(self, a: Tensor, b: Tensor) -> Tensor:
        n, m, d = a.shape
        h = self.heads
        return torch.cat([a.view(n, m, h, d // h), b.view(n, m, h, d // h)], -1).view(n, m, 2 * d)

    def forward(
        self, tgt: Tensor, memory: Tensor, memory_mask: Tensor, pos: Tensor, query_pos: Tensor, query_sine: Tensor
    ) -> Tensor:
        q = self.sa_qcontent_proj(tgt) + self.sa_qpos_proj(query_pos)
        k = self.sa_kcontent_proj(tgt) + self.sa_kpos_proj(query_pos)
        tgt = self.norm1(tgt + self.dropout1(self.self_attn(q, k, self.sa_v_proj(tgt))))
        q = self.ca_qcontent_proj(tgt)
        k = self.ca_kcontent_proj(memory)
        k_pos = self.ca_kpos_proj(pos)
        if self.ca_qpos_proj is not None:
            q = q + self.ca_qpos_proj(query_pos)
            k = k + k_pos
        q = self.per_head_cat(q, self.ca_qpos_sine_proj(query_sine))
        k = self.per_head_cat(k, k_pos)
        tgt = self.norm2(tgt + self.dropout2(self.cross_attn(q, k, self.ca_v_proj(memory), memory_mask)))
        return self.norm3(tgt + self.dropout3(self.feed_forward(tgt)))


class Decoder(nn.Module):
    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        d = cfg.hidden
        self.layers = nn.ModuleList(
            DecoderLayer(d, cfg.heads, cfg.ffn, cfg.dropout, i == 0) for i in range(cfg.decoder_layers)
        )
        self.norm = nn.LayerNorm(d)
        self.query_scale = MLP(d, d, d, 2)
        self.ref_point_head = MLP(d, d, d, 2)
        self.bbox_embed = MLP(d, d, 2, 3)
        self.ref_anchor_head = MLP(d, d, 1, 2)
        last = self.bbox_embed.layers[-1]
        assert isinstance(last, nn.Linear)
        nn.init.zeros_(last.weight)  # the transformer's xavier pass redraws the weight; the bias stays 0
        nn.init.zeros_(last.bias)

    def forward(self, anchors: Tensor, memory: Tensor, mask: Tensor, pos: Tensor) -> tuple[Tensor, Tensor]:
        """anchors (Q, 2) logits, memory (B, T, d) -> normed outputs (layers, B, Q, d), references (layers, B, Q, 2)."""
        b = memory.shape[0]
        ref = anchors.sigmoid().unsqueeze(0).expand(b, -1, -1)
        out = memory.new_zeros(b, anchors.shape[0], memory.shape[-1])
        refs, hidden = [ref], []
        for i, layer in enumerate(self.layers):
            sine = anchor_sine(ref, memory.shape[-1])
            query_pos = self.ref_point_head(sine)
            if i > 0:
                sine = sine * self.query_scale(out)
            sine = sine * (self.ref_anchor_head(out).sigmoid()[..., 0] / ref[..., 1]).unsqueeze(-1)
            out = layer(out, memory, mask, pos, query_pos, sine)
            new_ref = (self.bbox_embed(out) + inverse_sigmoid(ref)).sigmoid()
            if i < len(self.layers) - 1:
                refs.append(new_ref)
            ref = new_ref.detach()
            hidden.append(self.norm(out))
        return torch.stack(hidden), torch.stack(refs)


class Transformer(nn.Module):
    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        d = cfg.hidden
        self.t2v_encoder = _Stack(
            TextToAudioLayer(d, cfg.heads, cfg.ffn, cfg.dropout) for _ in range(cfg.encoder_layers)
        )
        self.encoder = _Stack(EncoderLayer(d, cfg.heads, cfg.ffn, cfg.dropout) for _ in range(cfg.encoder_layers))
        self.decoder = Decoder(cfg)
        for p in self.parameters():
            if p.dim() > 1:
                nn.init.xavier_uniform_(p)


class _Stack(nn.Module):
    """Holds layers under ``.layers`` (the official ``TransformerEncoder``'s names)."""

    def __init__(self, layers: Any) -> None:
        super().__init__()
        self.layers = nn.ModuleList(layers)


class LinearLayer(nn.Module):
    """LayerNorm -> Dropout -> Linear (-> ReLU): one block of the official input projections."""

    def __init__(self, dim_in: int, dim_out: int, dropout: float, relu: bool) -> None:
        super().__init__()
        self.LayerNorm = nn.LayerNorm(dim_in)
        self.net = nn.Sequential(nn.Dropout(dropout), nn.Linear(dim_in, dim_out))
        self.relu = relu

    def forward(self, x: Tensor) -> Tensor:
        x = self.net(self.LayerNorm(x))
        return F.relu(x) if self.relu else x


class TextPositionEmbedding(nn.Module):
    """The official model's trainable text position table: built, never used in its forward."""

    def __init__(self, positions: int, d: int) -> None:
        super().__init__()
        self.position_embeddings = nn.Embedding(positions, d)
        self.LayerNorm = nn.LayerNorm(d)


def input_projection(dim_in: int, d: int, layers: int, dropout: float) -> nn.Sequential:
    return nn.Sequential(*(LinearLayer(dim_in if i == 0 else d, d, dropout, i < layers - 1) for i in range(layers)))


class QdDetr(nn.Module):
    """The official QD-DETR (``model.layout="qd-detr"``); same outputs as ``MomentDetr``."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        if cfg.saliency_gate or cfg.continuity_block or not cfg.use_endpoint_feature:
            raise ValueError(
                "the qd-detr layout is the official AM-DETR: no gate, no continuity block, endpoint feature on"
            )
        self.cfg = cfg
        d = cfg.hidden
        # registered in the official order (own parameters first, then submodules as created)
        self.global_rep_token = nn.Parameter(torch.randn(d))
        self.global_rep_pos = nn.Parameter(torch.randn(d))
        self.transformer = Transformer(cfg)
        self.txt_position_embed = TextPositionEmbedding(cfg.text_positions, d)
        self.span_embed = MLP(d, d, 2, 3)
        self.class_embed = nn.Linear(d, 2)
        self.query_embed = nn.Embedding(cfg.queries, 2)
        self.input_txt_proj = input_projection(cfg.text_dim, d, cfg.input_layers, cfg.input_dropout)
        self.input_aud_proj = input_projection(cfg.audio_dim + 2, d, cfg.input_layers, cfg.input_dropout)
        self.saliency_proj1, self.saliency_proj2 = nn.Linear(d, d), nn.Linear(d, d)

    def encode(self, audio: Tensor, audio_mask: Tensor, pos: Tensor, text: Tensor, text_mask: Tensor) -> Tensor:
        """Projected inputs -> encoder memory over [global token; frames] (B, 1 + T, d)."""
        x = audio
        for layer in self.transformer.t2v_encoder.layers:
            x = layer(x, audio_mask, pos, text, text_mask)
        b = x.shape[0]
        x = torch.cat([self.global_rep_token.expand(b, 1, -1), x], 1)
        full_pos = torch.cat([self.global_rep_pos.expand(b, 1, -1), pos], 1)
        mask = torch.cat([audio_mask.new_ones(b, 1), audio_mask], 1)
        for layer in self.transformer.encoder.layers:
            x = layer(x, full_pos, mask)
        return x

    def saliency(self, memory: Tensor) -> Tensor:
        frames, glob = self.saliency_proj1(memory[:, 1:]), self.saliency_proj2(memory[:, 0])
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
        """As ``MomentDetr.forward``. Given ``negative_text`` (any value: only its presence counts),
        the negative pair is the batch's own text rolled by one, as the official forward makes it."""
        a = self.input_aud_proj(audio)
        t = self.input_txt_proj(text)
        pos = frame_sine_positions(audio_mask, self.cfg.hidden).to(a.dtype)
        memory = self.encode(a, audio_mask, pos, t, text_mask)
        out: dict[str, Any] = {"saliency": self.saliency(memory)}
        if negative_text is not None:
            neg = self.encode(a, audio_mask, pos, t.roll(-1, 0), text_mask.roll(-1, 0))
            out["saliency_negative"] = self.saliency(neg)
        hidden, refs = self.transformer.decoder(self.query_embed.weight, memory[:, 1:], audio_mask, pos)
        logits = self.class_embed(hidden)
        spans = (self.span_embed(hidden) + inverse_sigmoid(refs)).sigmoid()
        out["logits"], out["spans"] = logits[-1], spans[-1]
        out["aux"] = [{"logits": lg, "spans": sp} for lg, sp in zip(logits[:-1], spans[:-1], strict=True)]
        return out
