"""Merge a LoRA adapter into its base: a standalone HF checkpoint for the next round.

Round r collects with round r-1's policy (DESIGN.md "Self-improvement"). Loading the adapter
on top works (`load_policy(base, adapter=...)`), but a merged checkpoint is faster to sample
from, loads in tools that know nothing of PEFT, and is the start of the next round. The
folder gets `codeq_merge.json` (base, adapter, adapter id, run metadata) and is written
beside its final name and renamed, so a crash never leaves half a checkpoint.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

from codeq_lib.config import run_metadata
from codeq_lib.policy.models import MERGE_RECORD  # noqa: F401 (read back by policy.models.adapter_chain)


def merge_adapter(
    base_dir: str | os.PathLike, adapter_dir: str | os.PathLike, out_dir: str | os.PathLike,
    dtype: str = "auto", device: str = "cpu",
) -> Path:
    """Write base + adapter, merged (`merge_and_unload`), to `out_dir`; returns `out_dir`."""
    from codeq_lib.policy.models import adapter_id, attach_adapter, load_model_and_tokenizer

    out_dir = Path(out_dir)
    model, tokenizer, name = load_model_and_tokenizer(str(base_dir), device=device, dtype=dtype)
    merged = attach_adapter(model, adapter_dir).merge_and_unload()
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    try:
        merged.save_pretrained(str(tmp), safe_serialization=True)
        tokenizer.save_pretrained(str(tmp))
        record = {
            "base": str(base_dir), "base_name": name, "adapter": str(adapter_dir),
            "adapter_id": adapter_id(adapter_dir), "dtype": str(next(merged.parameters()).dtype),
            "run": run_metadata(),
        }
        (tmp / MERGE_RECORD).write_text(json.dumps(record, indent=2, sort_keys=True, default=str) + "\n")
        if out_dir.exists():
            shutil.rmtree(out_dir)
        os.replace(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out_dir
