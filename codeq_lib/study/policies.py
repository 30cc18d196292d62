"""Which policy a stage samples from, and how that is recorded: opening a policy (model,
adapter, call cache, sampling options) and the identities that decide whether a run folder
may be resumed. Shared by the stage glue (`codeq_lib.stages`) and the worker processes of
`study.scheduler`, so neither imports the other.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

SAMPLER_VERSION = "engine-v1"  # engine/ + stopping.py; bump when sampling changes what a seed draws
TINY_MODEL = "tiny-random"  # a randomly initialised SmolLM2-shaped model: notebook smoke runs only
TINY_QWEN2_MODEL = "tiny-random-qwen2"  # the same, Qwen2-shaped: the full profile's smoke run (convert only)
# A policy without a model for pipeline smoke tests only: for a prompt showing a training task's
# buggy program it writes, row by row, that task's reference and a wrong program (the entry point
# returning None; not the buggy program, which the search drops as a copy of its parent), so a
# tiny pipeline's trees hold sibling winners and losers and its pairs stage has pairs to check
SCRIPTED_FIXER = "scripted-fixer"


def model_identity(model: str) -> str:
    """Content identity of a policy: the weights' sha256 for a local checkpoint (for an adapter
    policy, its base's identity and the adapter's), else its name."""
    from codeq_lib.policy.models import file_sha256, policy_record

    weights = sorted(Path(model).glob("*.safetensors")) if Path(model).is_dir() else []
    own = ",".join(file_sha256(w)[:16] for w in weights) or model
    record = policy_record(model) if Path(model).is_dir() else None
    # an adapter policy is its base and its adapter: both decide what it samples
    return f"{model_identity(record['base'])}+{own}" if record else own


def sampler_identity(device: str = "auto", quantize_4bit: bool = False, server: str | None = None) -> dict[str, Any]:
    """How the policy samples, for run identities and the call cache: a run folder made by
    another decoder, dtype, device kind or weight quantisation is not resumed, and no cached
    call is reused across them (same weights, other samples). A 4-bit run says so; an
    unquantised one keeps the identity it always had."""
    from codeq_lib.engine.slotted import KEY_CHUNK
    from codeq_lib.policy.hf_policy import LOOKAHEAD
    from codeq_lib.policy.models import policy_dtype, resolve_device

    if server:  # a served policy (vLLM): its own sampler, whatever this machine has
        return {"decoder": "openai-server", "server": server, **({"quantization": "nf4"} if quantize_4bit else {})}
    device = resolve_device(device)
    identity: dict[str, Any] = {"decoder": SAMPLER_VERSION, "lookahead": LOOKAHEAD, "dtype": policy_dtype("auto", device),
                                "device": device.split(":")[0], "attention": f"key-chunks-{KEY_CHUNK}"}
    if quantize_4bit:
        identity["quantization"] = "nf4-double-quant"  # models.nf4_config
    return identity


def cpu_threads() -> int:
    """Torch threads for sampling on a CPU (env CODEQ_TORCH_THREADS, default 1).

    Decoding a small model is bound by per-op overhead and memory, not FLOPs: one thread was
    as fast as two on an idle 2-core machine, and ~10x faster when the other core was busy
    (the sandbox workers, another process), because every op's thread barrier waited for a
    descheduled thread (bench/generation.py --threads 1 vs 2)."""
    import os

    return int(os.environ.get("CODEQ_TORCH_THREADS", "1"))


def open_policy(model: str, adapter: str | None = None, call_cache: str | None = None, device: str = "auto",
                quantize_4bit: bool = False, server: str | None = None, **options: Any):
    """`model`: a checkpoint dir, 'embedded', a hub id, a .gguf file, or 'tiny-random'.
    `device`: "auto" (CUDA if any, else CPU), "cuda" (stop at once without CUDA) or "cpu";
    `quantize_4bit`: NF4 weights (CUDA + bitsandbytes), a merged round sampled as the 4-bit
    base plus its adapters (models.load_policy).
    With `call_cache`, sample calls are memoised there, keyed by the weights and the sampler.
    `server`: the base URL of a vLLM server (scripts/serve_vllm.sh) serving the base and every
    round's adapter; the policy is then `model`'s served name there (openai_backend.served_policy).
    `options` set policy fields (e.g. decoder="call", the former per-call loop, for benchmarks)."""
    import torch
    import transformers

    from codeq_lib.policy import load_policy, tiny_random_policy
    from codeq_lib.policy.call_cache import CachedPolicy

    if not torch.cuda.is_available():
        torch.set_num_threads(cpu_threads())

    if server:
        from codeq_lib.policy.openai_backend import served_policy

        policy = served_policy(server, model)
    elif model == SCRIPTED_FIXER:
        policy = scripted_fixer()
    elif model == TINY_MODEL:
        policy = tiny_random_policy()
    else:
        policy = load_policy(model, adapter=adapter, device=device, quantize_4bit=quantize_4bit)
    for name, value in options.items():
        if not hasattr(policy, name):
            raise ValueError(f"policy option {name!r} is not a field of {type(policy).__name__}")
        setattr(policy, name, value)
    if call_cache is None:
        return policy
    identity = {"model": model_identity(model), "adapter": model_identity(adapter) if adapter else None,
                "sampler": sampler_identity(device, quantize_4bit, server), "torch": torch.__version__, "transformers": transformers.__version__}
    return CachedPolicy(policy, Path(call_cache), identity)


def scripted_fixer(patterns: str = "data/tasks/*_train.jsonl"):
    """`SCRIPTED_FIXER`: a `ScriptedPolicy` that knows the training split's references (never a
    held-out task's: it reads `*_train.jsonl` only, and training stages refuse held-out tasks)."""
    from codeq_lib.data.sample import load_task_files
    from codeq_lib.hashing import normalized_code_hash
    from codeq_lib.pairs import prompt_programs
    from codeq_lib.search.scripted import ScriptedPolicy

    def wrong(entry_point: str) -> str:
        if "." in entry_point:
            cls, method = entry_point.split(".", 1)
            return f"class {cls}:\n    def {method}(self, *args, **kwargs):\n        return None\n"
        return f"def {entry_point}(*args, **kwargs):\n    return None\n"

    fixes = {}
    for task in load_task_files(patterns):
        if task.reference_code:
            fixes[normalized_code_hash(task.buggy_code)] = (task.reference_code, wrong(task.entry_point))

    def script(messages, n, call_index, seed):
        for program in prompt_programs(messages):
            try:
                found = fixes.get(normalized_code_hash(program))
            except Exception:  # a program shown in a prompt need not parse
                found = None
            if found:
                reference, loser = found
                order = [reference, loser] if (seed or 0) % 2 == 0 else [loser, reference]
                return [f"```python\n{order[i % 2].strip()}\n```" for i in range(n)]
        return ["```python\npass\n```"] * n

    return ScriptedPolicy(script, critic=0.5, policy_id=SCRIPTED_FIXER)
