"""`codeq` command line: one subcommand per pipeline step.

Each subcommand lives in the module that owns the concept; that module exposes
`add_arguments(parser)` and `run_cli(args) -> int`. Only the chosen command's module is
imported, so `codeq sandbox` does not pay for importing torch.
"""

from __future__ import annotations

import argparse
import importlib
import sys

COMMANDS: dict[str, tuple[str, str]] = {
    "prepare": ("codeq_lib.data.prepare", "Build the task sets (DebugBench + curriculum), the split and the data report."),
    "sandbox": ("codeq_lib.sandbox.cli", "Score candidate programs against a task file's tests in the sandbox."),
    "convert-model": ("codeq_lib.policy.cli", "Convert the embedded GGUF model (or any GGUF) into an HF checkpoint directory."),
    "eval": ("codeq_lib.evaluate", "Evaluate a policy on a task file with one search mode under the strict protocol."),
    "collect": ("codeq_lib.collect", "Collect search trees on the training split (resumable, shardable)."),
    "pairs": ("codeq_lib.pairs", "Build DPO preference pairs from search trees."),
    "train": ("codeq_lib.train.cli", "Train the policy (DPO or GRPO) on pairs / tasks; merge LoRA adapters."),
}


def build_parser(argv: list[str]) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="codeq", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (module, help_text) in COMMANDS.items():
        command_parser = sub.add_parser(name, help=help_text, description=help_text)
        if argv and argv[0] == name:
            importlib.import_module(module).add_arguments(command_parser)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser(argv).parse_args(argv)
    module = importlib.import_module(COMMANDS[args.command][0])
    return int(module.run_cli(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
