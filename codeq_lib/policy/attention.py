"""Eager attention for grouped-query models without copying the KV cache: the policy's CPU
attention (`GROUPED_EAGER`).

transformers' eager attention expands each key/value head to the query heads that share it
(`repeat_kv`: a copy of the whole cache, twice per layer and forward pass) and then multiplies
per query head. Here the query heads of a group are stacked along the query axis instead, so
one matmul per key/value head reads the cache in place: the same dot products, the same mask,
the same fp32 softmax. The logits equal eager's up to the order of float sums inside the
matmuls (~5e-6 in fp32 in tests/test_policy_attention.py); for SmolLM2-135M in bf16 they came
out bit-identical (prefill and decode steps).
Measured on this 2-core EPYC (SmolLM2-135M: 9 query heads over 3 key/value heads, bf16, one
thread, 400-token cache): a decode step of 4 rows x 5 tokens 55.8 -> 50.3 ms, 4 x 1 token
40.7 -> 35.0 ms (`bench/decode.py` compares whole calls). Why not SDPA: its CPU kernel costs
more than the attention it computes for a few new tokens (models.load_policy).
"""

from __future__ import annotations

import torch
from torch import nn

GROUPED_EAGER = "codeq_grouped_eager"


def grouped_eager_attention(module: nn.Module, query: torch.Tensor, key: torch.Tensor, value: torch.Tensor,
                            attention_mask: torch.Tensor | None, scaling: float, dropout: float = 0.0, **kwargs):
    """transformers' `eager_attention_forward` contract: query (batch, heads, q_len, dim), key and
    value (batch, kv_heads, kv_len, dim), an additive float mask (batch, 1, q_len, kv_len);
    returns (output (batch, q_len, heads, dim), None: the weights are not kept)."""
    batch, heads, length, dim = query.shape
    kv_heads = key.shape[1]
    group = heads // kv_heads
    # heads h = kv * group + g share key/value head kv (repeat_kv's order)
    stacked = query.reshape(batch, kv_heads, group * length, dim)
    weights = torch.matmul(stacked, key.transpose(2, 3)) * scaling
    if attention_mask is not None:
        weights = weights.view(batch, kv_heads, group, length, -1) + attention_mask[:, :, None]
        weights = weights.view(batch, kv_heads, group * length, -1)
    weights = nn.functional.softmax(weights, dim=-1, dtype=torch.float32).to(query.dtype)
    weights = nn.functional.dropout(weights, p=dropout, training=module.training)
    output = torch.matmul(weights, value).view(batch, heads, length, dim)
    return output.transpose(1, 2).contiguous(), None


def register() -> str:
    """Make `GROUPED_EAGER` a valid `attn_implementation` (with eager's additive masks); idempotent."""
    from transformers import AttentionInterface
    from transformers.masking_utils import AttentionMaskInterface, eager_mask

    AttentionInterface.register(GROUPED_EAGER, grouped_eager_attention)
    AttentionMaskInterface.register(GROUPED_EAGER, eager_mask)
    return GROUPED_EAGER
