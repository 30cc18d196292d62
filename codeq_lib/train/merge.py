"""Merge a LoRA adapter into its base: a standalone HF checkpoint, for export.

The pipeline does not merge: a round's policy is its base plus its adapter, unmerged
(`policy.models.write_adapter_policy`), because merging into bf16 weights rounds most of a
LoRA update away. A merged checkpoint is for tools that know nothing of PEFT. The merge is
computed in fp32 and written in the base checkpoint's own dtype (`dtype="base"`, the default),
and the folder gets `codeq_merge.json` (base, adapter, adapter id, dtype, run metadata). It is
written beside its final name and renamed, so a crash never leaves half a checkpoint. An
adapter policy folder may be given as the adapter: its record names the base.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from codeq_lib.config import run_metadata
from codeq_lib.io import atomic_dir
from codeq_lib.policy.models import MERGE_RECORD  # noqa: F401 (read back by policy.models.adapter_chain)


def base_checkpoint_dtype(base_dir: str | os.PathLike):
    """The dtype a local checkpoint's config.json records (fp32 when it records none)."""
    import torch

    from codeq_lib.policy.models import resolve_model_source

    _, location = resolve_model_source(str(base_dir))
    config_path = Path(location) / "config.json"
    config = json.loads(config_path.read_text()) if config_path.is_file() else {}
    name = config.get("dtype") or config.get("torch_dtype") or "float32"
    return {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}.get(name, torch.float32)


def merge_adapter(
    base_dir: str | os.PathLike, adapter_dir: str | os.PathLike, out_dir: str | os.PathLike,
    dtype: str = "base", device: str = "cpu",
) -> Path:
    """Write base + adapter, merged (`merge_and_unload`, in fp32), to `out_dir` in `dtype`
    ("base": the base checkpoint's stored dtype); returns `out_dir`."""
    from codeq_lib.policy.models import adapter_id, attach_adapter, load_model_and_tokenizer, resolve_dtype

    out_dir = Path(out_dir)
    target = base_checkpoint_dtype(base_dir) if dtype == "base" else resolve_dtype(dtype, device)
    model, tokenizer, name = load_model_and_tokenizer(str(base_dir), device=device, dtype="float32")
    merged = attach_adapter(model, adapter_dir).merge_and_unload().to(target)
    with atomic_dir(out_dir) as tmp:
        merged.save_pretrained(str(tmp), safe_serialization=True)
        tokenizer.save_pretrained(str(tmp))
        record = {
            "base": str(base_dir), "base_name": name, "adapter": str(adapter_dir),
            "adapter_id": adapter_id(adapter_dir), "dtype": str(next(merged.parameters()).dtype),
            "run": run_metadata(),
        }
        (tmp / MERGE_RECORD).write_text(json.dumps(record, indent=2, sort_keys=True, default=str) + "\n")
    return out_dir
