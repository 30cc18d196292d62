"""`codeq train`: DPO (RPO), RFT or GRPO from params.yaml or flags; `codeq train merge`; `codeq train report`.

    codeq train --params params.yaml --section train            # trainer + settings from params
    codeq train --trainer dpo --pairs P1.jsonl --base embedded --out runs/r1          # round 1
    codeq train merge --base embedded --adapter runs/r1/adapter --out models/r1
    codeq train --trainer dpo --pairs P2.jsonl --base embedded --start models/r1 \\
                --ref previous --out runs/r2 --set max_steps=20 lora_r=8                # round 2
    codeq train merge --base models/r1 --adapter runs/r2/adapter --out models/r2
    codeq train report --log runs/r1/log.jsonl --out-dir figures/train_r1
    codeq train --trainer rft --winners runs/r1/pairs/winners.jsonl --base embedded --out runs/r1_rft

Precedence: dataclass defaults < the params section < explicit flags < `--set KEY=VALUE`
(values parsed as JSON), all validated strictly (an unknown key is an error that names it).
The params section is `{trainer: dpo|rft|grpo, dpo: {...DPOConfig}, rft: {...RFTConfig}, grpo: {...GRPOConfig}}`.
Every run also writes `train_log.csv` and `train_curves.png` beside its checkpoint.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from codeq_lib.config import from_dict, load_params, resolved
from codeq_lib.errors import UserError
from codeq_lib.train.dpo_config import DPOConfig
from codeq_lib.train.grpo_config import GRPOConfig
from codeq_lib.train.rft_trainer import RFTConfig


@dataclass
class TrainSection:
    trainer: Literal["auto", "dpo", "rft", "grpo"] = field(default="dpo", metadata={
        "help": "Which trainer runs; auto (the pipeline's select stage chooses): the one the data flag names"})
    dpo: DPOConfig = field(default_factory=DPOConfig, metadata={"help": "DPO settings (dpo_config.py)."})
    rft: RFTConfig = field(default_factory=RFTConfig, metadata={"help": "RFT settings (rft_trainer.py)."})
    grpo: GRPOConfig = field(default_factory=GRPOConfig, metadata={"help": "GRPO settings (grpo_config.py)."})


def parse_set(items: list[str]) -> dict[str, Any]:
    """`KEY=VALUE` strings -> dict, values parsed as JSON when they parse, else kept as text.

    >>> parse_set(["max_steps=2", "base=embedded", "previous_adapter=null"])
    {'max_steps': 2, 'base': 'embedded', 'previous_adapter': None}
    """
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise UserError(f"--set {item!r}: expected KEY=VALUE")
        try:
            out[key] = json.loads(value)
        except json.JSONDecodeError:
            out[key] = value
    return out


def flag_overrides(args: argparse.Namespace, trainer: str) -> dict[str, Any]:
    """Explicit flags, mapped to the chosen trainer's config fields."""
    mapping = {"base": "base", "start": "start", "previous_adapter": "previous_adapter", "out": "out_dir"}
    mapping.update({"dpo": {"pairs": "pairs", "ref": "reference"}, "rft": {"winners": "winners"},
                    "grpo": {"tasks": "tasks"}}[trainer])
    given = {field_name: getattr(args, flag) for flag, field_name in mapping.items()
             if getattr(args, flag, None) is not None}
    if trainer == "rft" and (args.pairs is not None or args.ref is not None or args.tasks is not None):
        raise UserError("--trainer rft trains on --winners (the pairs stage's winners.jsonl)")
    if trainer == "grpo" and (args.pairs is not None or args.ref is not None):
        raise UserError("--pairs and --ref apply to --trainer dpo; GRPO trains on --tasks")
    if trainer == "dpo" and args.tasks is not None:
        raise UserError("--tasks applies to --trainer grpo; DPO trains on --pairs")
    return given


def resolve_config(args: argparse.Namespace) -> tuple[str, DPOConfig | GRPOConfig]:
    section = {}
    if args.params:
        section = load_params(args.params).get(args.section) or {}
    where = f"{args.params}:{args.section}" if args.params else "flags"
    train = from_dict(TrainSection, section, where=where)
    trainer = args.trainer or train.trainer
    if trainer == "auto":  # chosen by the pipeline's select stage; here the data file says which
        named = [name for name, flag in (("dpo", args.pairs), ("rft", args.winners), ("grpo", args.tasks)) if flag]
        if len(named) != 1:
            raise UserError(f"{where}: train.trainer is auto (the select stage chooses it in the pipeline); give "
                            "--trainer, or exactly one of --pairs (dpo), --winners (rft), --tasks (grpo)")
        trainer = named[0]
    base = resolved({"dpo": train.dpo, "rft": train.rft, "grpo": train.grpo}[trainer])
    base.update(flag_overrides(args, trainer))
    base.update(parse_set(args.set))
    cls = {"dpo": DPOConfig, "rft": RFTConfig, "grpo": GRPOConfig}[trainer]
    return trainer, from_dict(cls, base, where=f"{where}.{trainer}")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--params", default=None, help="params.yaml to read the section from")
    parser.add_argument("--section", default="train", help="params.yaml section (default: train)")
    parser.add_argument("--trainer", choices=["dpo", "rft", "grpo"], default=None,
                        help="overrides the section's trainer")
    parser.add_argument("--pairs", default=None, help="DPO: preference pairs JSONL")
    parser.add_argument("--tasks", default=None, help="GRPO: training-split task JSONL")
    parser.add_argument("--winners", default=None, help="RFT: the search's passing rewrites (winners.jsonl)")
    parser.add_argument("--base", default=None, help="base model ('embedded', HF dir, .gguf)")
    parser.add_argument("--start", default=None, help="checkpoint this round starts from (previous merged policy)")
    parser.add_argument("--ref", choices=["base", "previous"], default=None, help="DPO reference model")
    parser.add_argument("--previous-adapter", default=None, help="previous round's adapter (merged before training)")
    parser.add_argument("--out", default=None, help="checkpoint folder")
    parser.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE", help="override any config field")
    actions = parser.add_subparsers(dest="action", metavar="{merge,report}")
    merge = actions.add_parser("merge", help="merge a LoRA adapter into its base (standalone checkpoint)")
    merge.add_argument("--base", required=True, help="base model the adapter was trained on")
    merge.add_argument("--adapter", required=True, help="adapter folder (adapter_config.json + safetensors)")
    merge.add_argument("--out", required=True, help="folder for the merged checkpoint")
    merge.add_argument("--dtype", default="base",
                       help="base (the base checkpoint's stored dtype), auto (fp32 on CPU), float32, bfloat16")
    merge.add_argument("--device", default="cpu", help="where to merge (cpu, cuda)")
    report = actions.add_parser("report", help="training log -> CSV + figure")
    report.add_argument("--log", required=True, help="a run's log.jsonl")
    report.add_argument("--out-dir", required=True, help="folder for <name>_log.csv and <name>_curves.png")
    report.add_argument("--name", default="train", help="file name prefix")


def run_cli(args: argparse.Namespace) -> int:
    if args.action == "merge":
        from codeq_lib.train.merge import merge_adapter

        out = merge_adapter(args.base, args.adapter, args.out, dtype=args.dtype, device=args.device)
        print(json.dumps({"merged": str(out)}))
        return 0
    if args.action == "report":
        from codeq_lib.train.report import write_report

        print(json.dumps(write_report(args.log, args.out_dir, args.name)))
        return 0
    trainer, cfg = resolve_config(args)
    flag, data = {"dpo": ("--pairs", getattr(cfg, "pairs", None)), "rft": ("--winners", getattr(cfg, "winners", None)),
                  "grpo": ("--tasks", getattr(cfg, "tasks", None))}[trainer]
    if not data:  # checked before minutes of model loading, not after
        raise UserError(f"{flag}: not given; {trainer.upper()} needs the file to train on")
    if not Path(data).is_file():
        raise UserError(f"{data}: file not found (the {flag[2:]} file to train on)")
    if trainer == "dpo":
        from codeq_lib.train.dpo_trainer import train_dpo

        train_dpo(cfg)
    elif trainer == "rft":
        from codeq_lib.train.rft_trainer import train_rft

        train_rft(cfg)
    else:
        from codeq_lib.train.grpo_trainer import train_grpo

        train_grpo(cfg)
    from codeq_lib.train.distributed import is_main_process
    from codeq_lib.train.report import write_report

    if is_main_process():  # under accelerate launch the other ranks wrote nothing
        write_report(Path(cfg.out_dir) / "log.jsonl", cfg.out_dir, "train")
    return 0
