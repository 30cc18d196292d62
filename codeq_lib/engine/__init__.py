"""Engines: where policy calls are decoded, behind one small interface.

An engine takes sampling calls (prompt token ids, n, temperature, top_p, max_new_tokens,
seed) from any number of threads and returns, per call, n rows of token ids each with
whether it stopped on its own; `critic_logits` returns next-token logits after prompts.
What a call returns is a pure function of the weights and the call: never of the other
calls in flight (each row has its own random stream, `streams.py`).

- `loop` (`loop.LoopEngine`): in process, continuous batching over a slotted KV cache
  (`slotted.py`); the default on CPU, usable on CUDA. `HFPolicy` (decoder "loop") owns one.
- `openai`: an OpenAI-compatible server (vLLM, SGLang, `transformers serve`), many requests
  in flight, `n` completions and a seed per request (`policy.openai_backend.OpenAIPolicy`).
"""
