"""The knobs every sampling stage section shares (processes, concurrency, device, ...), the
held-out and sample fields, and the strict parse of a notebook's injected section."""

from __future__ import annotations

from dataclasses import field
from typing import Any

from codeq_lib.config import from_dict


def processes_field():
    """The `processes` knob of the sampling stages (collect, evaluate, ablations)."""
    return field(default=1, metadata={
        "help": "tasks searched at once, one worker process each (own policy, one torch thread, own "
                "sandbox); results do not depend on it. 2 on a 2-core CPU, 1 on one GPU"})


def device_field():
    """The `device` knob of the sampling stages (collect, evaluate, ablations)."""
    return field(default="auto", metadata={
        "help": "auto: CUDA if any (under a launcher the LOCAL_RANK GPU), else CPU; cuda: stop at once "
                "without CUDA, saying why (the full profile); cpu"})


def quantize_field():
    """The `quantize_4bit` knob of the sampling stages (collect, evaluate, ablations)."""
    return field(default=False, metadata={
        "help": "sample from NF4 4-bit weights (CUDA + bitsandbytes, `pip install -e .[gpu]`); a merged round "
                "is sampled as the 4-bit base plus its bf16 adapters, unmerged. Recorded in run identities"})


def load_options(cfg: Any) -> dict[str, Any]:
    """How a sampling stage's policy is loaded (study.policies.open_policy's keywords)."""
    options = {"device": cfg.device, "quantize_4bit": cfg.quantize_4bit}
    if getattr(cfg, "server", None):
        options["server"] = cfg.server
    return options


def server_field():
    """The `server` knob of the sampling stages: sample from a vLLM server instead of in-process."""
    return field(default=None, metadata={
        "help": "base URL of an OpenAI-compatible vLLM server serving the base as 'base' and each round's "
                "adapter by its folder name (scripts/serve_vllm.sh, `make serve`); null: the in-process engine"})


def concurrency_field():
    """The `concurrency` knob of the sampling stages (collect, evaluate, ablations)."""
    return field(default=1, metadata={
        "help": "tasks searched at once in each process, their policy calls batched by the process's "
                "engine and their candidates run by its sandbox pool; results do not depend on it"})


def call_cache_field():
    """The `call_cache` knob of the sampling stages (collect, evaluate, ablations)."""
    return field(default=None, metadata={
        "help": "folder where seeded policy calls are memoised (policy/call_cache.py): strategies that "
                "begin alike share their first calls; results do not depend on it. null: no cache"})


HELD_OUT = ["data/tasks/*_test.jsonl", "data/tasks/*_val.jsonl"]


def held_out_field():
    return field(default_factory=lambda: list(HELD_OUT), metadata={
        "help": "held-out task files or globs (test and validation splits): a training stage refuses their "
                "tasks and problems"})


def sample_field(what: str):
    return field(default=None, metadata={
        "help": f"{what}: a seeded draw of N tasks, stratified by category and difficulty, or a list of "
                "sizes drawn in turn, each from the last (nested in another stage's draw; "
                "codeq_lib/data/sample.py; null: every task)"})


def load_config(cls, config: dict[str, Any], section: str):
    """Strictly parse a notebook's injected `config` dict as params.yaml section `section`."""
    return from_dict(cls, config, where=f"params.yaml:{section}")
