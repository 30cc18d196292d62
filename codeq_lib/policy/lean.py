"""A lean forward pass for Llama-architecture models on a CPU (SmolLM2): the decode loop's
model call without transformers' per-module machinery.

A decode step of SmolLM2-135M on one CPU thread makes 396 module calls (30 layers x 13) for a few
tokens; their calls, hooks, output-capturing wrappers and keyword plumbing cost a fixed time
per pass beside the matmuls. `LeanLlama` runs the same operations in the same order, layer
by layer, on the model's own parameters: RMSNorm, rotary embeddings, grouped-query attention
(attention.py), SiLU-gated MLP, residual adds; the causal mask and the rotary tables come
from the model's own functions once per pass, and the KV cache is the same `DynamicCache`.
Plain `nn.Linear` layers are called as `F.linear` on their weights; any other projection
(a peft LoRA layer) is called as its module, so adapters work unchanged. The logits are
tested equal to the model's own forward (tests/test_policy_lean.py).

Only what the decode loop asks for is supported: input ids, a 2D attention mask (or none),
position ids, a `DynamicCache`, `logits_to_keep`. `lean_model(model)` returns the model
itself for anything else (other architectures, CUDA, training mode).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import torch
from torch import nn
from torch.nn import functional as F


@dataclass
class LeanOutput:
    logits: torch.Tensor
    past_key_values: Any


def _projection(module: nn.Module) -> Callable[[torch.Tensor], torch.Tensor]:
    if type(module) is nn.Linear:
        weight, bias = module.weight, module.bias
        return lambda x: F.linear(x, weight, bias)
    return module  # e.g. a peft LoRA layer: its own forward adds the adapter


def _rms_norm(norm: nn.Module) -> Callable[[torch.Tensor], torch.Tensor]:
    """LlamaRMSNorm.forward, op for op."""
    weight, eps = norm.weight, norm.variance_epsilon

    def apply(hidden: torch.Tensor) -> torch.Tensor:
        input_dtype = hidden.dtype
        hidden = hidden.to(torch.float32)
        variance = hidden.pow(2).mean(-1, keepdim=True)
        hidden = hidden * torch.rsqrt(variance + eps)
        return weight * hidden.to(input_dtype)
    return apply


def _rotate_half(x: torch.Tensor) -> torch.Tensor:
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


class LeanLlama:
    """Callable like a `LlamaForCausalLM` for the decode loop's calls (see the module docstring)."""

    def __init__(self, model: nn.Module):
        from transformers.masking_utils import create_causal_mask

        from codeq_lib.policy.attention import grouped_eager_attention

        self.model = model
        causal_lm = model.get_base_model() if hasattr(model, "get_base_model") else model
        self.config = causal_lm.config
        body = causal_lm.model
        self._create_causal_mask = create_causal_mask
        self._attention = grouped_eager_attention
        self.embed = body.embed_tokens
        self.rotary = body.rotary_emb
        self.norm = _rms_norm(body.norm)
        self.lm_head = _projection(causal_lm.lm_head)
        self.layers = []
        for layer in body.layers[: self.config.num_hidden_layers]:
            attn, mlp = layer.self_attn, layer.mlp
            self.layers.append((
                _rms_norm(layer.input_layernorm), _projection(attn.q_proj), _projection(attn.k_proj),
                _projection(attn.v_proj), _projection(attn.o_proj), attn, attn.head_dim, attn.scaling,
                _rms_norm(layer.post_attention_layernorm), _projection(mlp.gate_proj), _projection(mlp.up_proj),
                _projection(mlp.down_proj), mlp.act_fn))

    def __getattr__(self, name: str) -> Any:  # parameters(), register_forward_hook, ...: the model's
        return getattr(self.__dict__["model"], name)

    def __call__(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None,
                 position_ids: torch.Tensor | None = None, past_key_values: Any = None, use_cache: bool = True,
                 logits_to_keep: int = 0) -> LeanOutput:
        if past_key_values is None or position_ids is None:
            raise ValueError("LeanLlama needs position_ids and a DynamicCache (decode.py passes both)")
        hidden = self.embed(input_ids)
        mask = self._create_causal_mask(config=self.config, inputs_embeds=hidden, attention_mask=attention_mask,
                                        past_key_values=past_key_values, position_ids=position_ids)
        cos, sin = self.rotary(hidden, position_ids=position_ids)
        cos, sin = cos.unsqueeze(1), sin.unsqueeze(1)
        batch, length = input_ids.shape
        for index, (norm_in, q_proj, k_proj, v_proj, o_proj, attn, head_dim, scaling,
                    norm_post, gate_proj, up_proj, down_proj, act) in enumerate(self.layers):
            residual = hidden
            hidden = norm_in(hidden)
            shape = (batch, length, -1, head_dim)
            query = q_proj(hidden).view(shape).transpose(1, 2)
            key = k_proj(hidden).view(shape).transpose(1, 2)
            value = v_proj(hidden).view(shape).transpose(1, 2)
            query = (query * cos) + (_rotate_half(query) * sin)
            key = (key * cos) + (_rotate_half(key) * sin)
            key, value = past_key_values.update(key, value, index)
            output, _ = self._attention(attn, query, key, value, mask, scaling=scaling, dropout=0.0)
            hidden = residual + o_proj(output.reshape(batch, length, -1).contiguous())
            residual = hidden
            hidden = norm_post(hidden)
            hidden = residual + down_proj(act(gate_proj(hidden)) * up_proj(hidden))
        hidden = self.norm(hidden)
        if logits_to_keep:
            hidden = hidden[:, -logits_to_keep:, :]
        return LeanOutput(self.lm_head(hidden), past_key_values)


def lean_model(model: nn.Module):
    """`LeanLlama(model)` for a Llama-architecture model on a CPU in eval mode, else `model`."""
    causal_lm = model.get_base_model() if hasattr(model, "get_base_model") else model
    config = getattr(causal_lm, "config", None)
    if (config is None or config.model_type != "llama" or model.training
            or next(model.parameters()).device.type != "cpu"
            or getattr(config, "rope_parameters", {}).get("rope_type", "default") != "default"
            or getattr(config, "mlp_bias", False)):
        return model
    return LeanLlama(model)
