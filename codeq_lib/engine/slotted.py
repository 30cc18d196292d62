"""The engine's forward pass: rows of many calls in one batch, each row's results exactly
what it would get alone.

A continuously batched engine changes a row's neighbours at every step: rows of other calls
join and leave, prompts have other lengths. If a row's logits depended on them (float sums in
another order), a task's answer would depend on how many searches ran beside it. So the pass
is built from pieces whose per-row results do not depend on the batch:

- **A slotted KV cache** (`SlotCache`): every row owns a slot, its tokens left-aligned from
  position 0 (no left padding, no holes); the live rows occupy slots 0..R-1 (a finished
  row's slot is refilled by the last row), so the pass reads a view, never a gathered copy.
- **Attention over fixed key chunks** (`chunked_attention`): keys are read in chunks of
  `KEY_CHUNK` slots at fixed offsets, so every reduction over keys has the same length and
  order whatever the batch; the softmax is taken with one global max (exact), its sums and
  the weighted values accumulated chunk by chunk in fp32. Chunks past a row's length hold
  masked keys: they add exact zeros. Measured on this CPU: eager attention over a longer
  padded key axis changes fp32 results in the last bits, the chunked form does not
  (tests/test_engine.py checks a row's logits alone and in a batch are equal).
- **Linear layers with at least `min_rows` rows**: a CPU GEMM may take another kernel for a
  handful of rows (MKL here: one row, two or three rows, and four or more give three
  different roundings in fp32; bf16 agreed for all). `gemm_row_invariant_from` probes the
  machine; the engine feeds at least that many token rows per pass.

Supported: Llama and Qwen2 causal LMs (RMSNorm, rotary embeddings, grouped-query attention,
SiLU MLP; Qwen2's q/k/v biases), with or without a peft LoRA adapter (its layers are called
as modules, so the adapter is applied unmerged, as in `policy/lean.py`).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from codeq_lib.policy.lean import _projection, _rms_norm, _rotate_half  # the same ops as the lean forward

KEY_CHUNK = 512  # keys per attention chunk (fixed: part of what a row's logits are)
SUPPORTED = ("llama", "qwen2")


def round_up(value: int, multiple: int) -> int:
    """`value` rounded up to a multiple of `multiple`.

    >>> round_up(257, 256), round_up(256, 256), round_up(0, 256)
    (512, 256, 0)
    """
    return -(-value // multiple) * multiple


class SlotCache:
    """Keys and values of every layer: (layers, slots, kv_heads, length, head_dim) each."""

    def __init__(self, layers: int, kv_heads: int, head_dim: int, dtype: torch.dtype, device: torch.device,
                 slots: int = 8, length: int = KEY_CHUNK):
        shape = (layers, slots, kv_heads, round_up(max(length, 1), KEY_CHUNK), head_dim)
        self.keys = torch.zeros(shape, dtype=dtype, device=device)
        self.values = torch.zeros(shape, dtype=dtype, device=device)

    @property
    def slots(self) -> int:
        return self.keys.shape[1]

    @property
    def length(self) -> int:
        return self.keys.shape[3]

    def ensure(self, slots: int, length: int) -> None:
        """Grow (never shrink) to hold `slots` rows of `length` positions; contents kept."""
        if slots <= self.slots and length <= self.length:
            return
        layers, old_slots, kv_heads, old_length, head_dim = self.keys.shape
        # grow geometrically: each growth copies the whole cache
        new_slots = max(slots, old_slots) if slots <= old_slots else max(slots, 2 * old_slots)
        new_length = old_length if length <= old_length else max(round_up(length, KEY_CHUNK), 2 * old_length)
        shape = (layers, new_slots, kv_heads, new_length, head_dim)
        for name in ("keys", "values"):
            old = getattr(self, name)
            new = torch.zeros(shape, dtype=old.dtype, device=old.device)
            new[:, :old_slots, :, :old_length] = old
            setattr(self, name, new)

    def copy_slot(self, source: int, target: int, upto: int) -> None:
        """Row `target` becomes a copy of row `source`'s first `upto` positions."""
        if source != target:
            upto = min(self.length, round_up(upto, KEY_CHUNK))
            self.keys[:, target, :, :upto] = self.keys[:, source, :, :upto]
            self.values[:, target, :, :upto] = self.values[:, source, :, :upto]


def visibility(positions: torch.Tensor, key_end: int) -> list[torch.Tensor]:
    """Per key chunk, which keys each query (rows, width) may see: those at positions <= its own."""
    return [(torch.arange(k0, k0 + KEY_CHUNK, device=positions.device)[None, None, :] <= positions[:, :, None])
            for k0 in range(0, key_end, KEY_CHUNK)]


def chunked_attention(query: torch.Tensor, keys: torch.Tensor, values: torch.Tensor, visible: list[torch.Tensor],
                      scaling: float) -> torch.Tensor:
    """Causal attention of `query` (rows, heads, width, dim) over the cached `keys`/`values`
    (rows, kv_heads, length, dim) of the same rows, key chunk by key chunk (`visible`, from
    `visibility`: what each query may see in each chunk). Returns (rows, width, heads * dim).
    The key axis is cut at fixed offsets, so a row's sums never depend on how long its
    neighbours are (see the module docstring); the query axis is one block (matmuls give each
    output row the same value for any number of rows >= the GEMM floor)."""
    rows, heads, width, dim = query.shape
    kv_heads = keys.shape[1]
    group = heads // kv_heads
    # heads h = kv * group + g share key/value head kv; stack a group's queries (no repeat_kv copy)
    stacked = (query * scaling).reshape(rows, kv_heads, group * width, dim)
    scores = []
    for index, seen in enumerate(visible):
        k0 = index * KEY_CHUNK
        chunk = torch.matmul(stacked, keys[:, :, k0:k0 + KEY_CHUNK].transpose(2, 3)).float()
        chunk = chunk.view(rows, kv_heads, group, width, KEY_CHUNK).masked_fill(~seen[:, None, None], float("-inf"))
        scores.append(chunk.view(rows, kv_heads, group * width, KEY_CHUNK))
    peak = scores[0].amax(dim=-1, keepdim=True)
    for chunk in scores[1:]:
        peak = torch.maximum(peak, chunk.amax(dim=-1, keepdim=True))
    total = acc = None
    for index, chunk in enumerate(scores):
        weights = torch.exp(chunk - peak)
        k0 = index * KEY_CHUNK
        part = torch.matmul(weights.to(values.dtype), values[:, :, k0:k0 + KEY_CHUNK]).float()
        part_sum = weights.sum(dim=-1, keepdim=True)
        total = part_sum if total is None else total + part_sum
        acc = part if acc is None else acc + part
    out = (acc / total).to(query.dtype).view(rows, heads, width, dim)
    return out.transpose(1, 2).reshape(rows, width, heads * dim)


class SlottedModel:
    """The forward pass over a `SlotCache` for a Llama or Qwen2 causal LM (see the module docstring)."""

    def __init__(self, model: nn.Module):
        causal_lm = model.get_base_model() if hasattr(model, "get_base_model") else model
        config = causal_lm.config
        if config.model_type not in SUPPORTED:
            raise ValueError(f"engine 'loop': model_type {config.model_type!r} is not one of {list(SUPPORTED)}")
        self.model = model
        self.config = config
        body = causal_lm.model
        self.embed = body.embed_tokens
        self.rotary = body.rotary_emb
        self.norm = _rms_norm(body.norm)
        self.lm_head = _projection(causal_lm.lm_head)
        self.layers = []
        for layer in body.layers[: config.num_hidden_layers]:
            attn, mlp = layer.self_attn, layer.mlp
            self.layers.append((
                _rms_norm(layer.input_layernorm), _projection(attn.q_proj), _projection(attn.k_proj),
                _projection(attn.v_proj), _projection(attn.o_proj), attn.head_dim, attn.scaling,
                _rms_norm(layer.post_attention_layernorm), _projection(mlp.gate_proj), _projection(mlp.up_proj),
                _projection(mlp.down_proj), mlp.act_fn))
        first = body.layers[0].self_attn
        self.head_dim = first.head_dim
        self.kv_heads = config.num_key_value_heads
        parameter = next(model.parameters())
        self.dtype, self.device = parameter.dtype, parameter.device
        # rows a linear layer is given at least (gemm_row_invariant_from; the engine sets it)
        self.min_rows = 1

    def new_cache(self, slots: int, length: int) -> SlotCache:
        return SlotCache(len(self.layers), self.kv_heads, self.head_dim, self.dtype, self.device, slots, length)

    def __call__(self, cache: SlotCache, first_slot: int, input_ids: torch.Tensor, starts: torch.Tensor,
                 logits_at: torch.Tensor | None = None) -> torch.Tensor:
        """Feed `input_ids` (rows, width) to slots first_slot.., the first token of row r at
        position starts[r]; their keys/values are written there. Returns the logits (rows,
        width, vocab), or at one index per row (`logits_at`, rows) as (rows, vocab)."""
        rows, width = input_ids.shape
        positions = starts[:, None] + torch.arange(width, device=input_ids.device)[None, :]
        cache.ensure(first_slot + rows, int(positions.max()) + 1)
        slots = slice(first_slot, first_slot + rows)
        hidden = self.embed(input_ids)
        cos, sin = self.rotary(hidden, position_ids=positions)
        cos, sin = cos.unsqueeze(1), sin.unsqueeze(1)
        write_at = positions[:, None, :, None].expand(rows, self.kv_heads, width, self.head_dim)
        # every attention matmul gets at least min_rows rows (a group's stacked queries): a
        # narrower pass attends with copies of its last query, whose outputs are dropped
        group = self.config.num_attention_heads // self.kv_heads
        attention_width = max(width, -(-self.min_rows // group))
        attention_positions = torch.cat([positions, positions[:, -1:].expand(-1, attention_width - width)], dim=1)
        visible = visibility(attention_positions, min(cache.length, round_up(int(positions.max()) + 1, KEY_CHUNK)))
        for index, (norm_in, q_proj, k_proj, v_proj, o_proj, head_dim, scaling,
                    norm_post, gate_proj, up_proj, down_proj, act) in enumerate(self.layers):
            residual = hidden
            hidden = norm_in(hidden)
            shape = (rows, width, -1, head_dim)
            query = q_proj(hidden).view(shape).transpose(1, 2)
            key = k_proj(hidden).view(shape).transpose(1, 2)
            value = v_proj(hidden).view(shape).transpose(1, 2)
            query = (query * cos) + (_rotate_half(query) * sin)
            key = (key * cos) + (_rotate_half(key) * sin)
            layer_keys, layer_values = cache.keys[index, slots], cache.values[index, slots]
            layer_keys.scatter_(2, write_at, key.to(layer_keys.dtype))
            layer_values.scatter_(2, write_at, value.to(layer_values.dtype))
            if attention_width > width:
                query = torch.cat([query, query[:, :, -1:].expand(-1, -1, attention_width - width, -1)], dim=2)
            output = chunked_attention(query, layer_keys, layer_values, visible, scaling)[:, :width]
            hidden = residual + o_proj(output)
            residual = hidden
            hidden = norm_post(hidden)
            hidden = residual + down_proj(act(gate_proj(hidden)) * up_proj(hidden))
        hidden = self.norm(hidden)
        if logits_at is None:
            return self.lm_head(hidden).float()
        hidden = hidden[torch.arange(rows, device=hidden.device), logits_at]
        if rows < self.min_rows:  # the head sees as many rows as any larger batch would
            hidden = torch.cat([hidden, hidden[-1:].expand(self.min_rows - rows, -1)])
        return self.lm_head(hidden)[:rows].float()


def gemm_row_invariant_from(features: int, dtype: torch.dtype, device: Any = "cpu", largest: int = 64,
                            seed: int = 0) -> int:
    """The smallest row count m such that a linear layer's output rows agree bit for bit for
    every batch of m..`largest` rows on this machine (probed on random data; 1 if all agree).
    The engine feeds at least this many token rows per pass."""
    generator = torch.Generator().manual_seed(seed)
    weight = (torch.randn(features, features, generator=generator) * 0.05).to(dtype=dtype, device=device)
    x = torch.randn(largest, features, generator=generator).to(dtype=dtype, device=device)
    with torch.inference_mode():
        reference = F.linear(x, weight)[:1]
        sizes = [m for m in (1, 2, 3, 4, 5, 6, 8, 12, 16, 24, 32, 48) if m < largest] + [largest]
        agree = [torch.equal(F.linear(x[:m], weight)[:1], reference) for m in sizes]
    smallest = largest
    for m, same in zip(reversed(sizes), reversed(agree)):
        if not same:
            break
        smallest = m
    return smallest
