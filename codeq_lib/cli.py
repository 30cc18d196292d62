"""`codeq` command line: one subcommand per pipeline step.

Each subcommand lives in the module that owns the concept; that module exposes
`add_arguments(parser)` and `run_cli(args) -> int`. Only the chosen command's module is
imported, so `codeq sandbox` does not pay for importing torch.

Every subcommand reports a user error the same way (issue 17): one line,
`codeq <command>: <file>:<line>: <field>: <what is wrong and what is allowed>`, exit status 2.
A user error is a `codeq_lib.errors.UserError` (a bad task file, config, model path, run) or
a file the system cannot open; anything else is a bug and keeps its traceback, as does
every error under `--debug`.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from codeq_lib.errors import UserError

COMMANDS: dict[str, tuple[str, str]] = {
    "prepare": ("codeq_lib.data.prepare", "Build the task sets (DebugBench + curriculum), the split and the data report."),
    "sandbox": ("codeq_lib.sandbox.cli", "Score candidate programs against a task file's tests in the sandbox."),
    "convert-model": ("codeq_lib.policy.cli", "Convert the embedded GGUF model (or any GGUF) into an HF checkpoint directory."),
    "eval": ("codeq_lib.evaluate", "Evaluate a policy on a task file with one search mode under the strict protocol."),
    "collect": ("codeq_lib.collect", "Collect search trees on the training split (resumable, shardable)."),
    "pairs": ("codeq_lib.pairs", "Build DPO preference pairs from search trees."),
    "train": ("codeq_lib.train.cli", "Train the policy (DPO or GRPO) on pairs / tasks; merge LoRA adapters."),
    "explore": ("codeq_lib.explorer.cli", "Write a self-contained HTML page to explore search trees and pairs."),
}
# Files a user named that cannot be opened: their own message, without a traceback.
FILE_ERRORS = (FileNotFoundError, IsADirectoryError, NotADirectoryError, PermissionError)


def build_parser(argv: list[str]) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="codeq", description=__doc__.splitlines()[0])
    parser.add_argument("--debug", action="store_true",
                        help="show the full traceback of any error (also accepted after the command)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (module, help_text) in COMMANDS.items():
        command_parser = sub.add_parser(name, help=help_text, description=help_text)
        if argv and argv[0] == name:
            importlib.import_module(module).add_arguments(command_parser)
    return parser


def user_error_line(command: str, exc: BaseException) -> str | None:
    """The one line a user error is reported with, or None when `exc` is a bug.

    >>> user_error_line("eval", FileNotFoundError(2, "No such file or directory", "my.jsonl"))
    'codeq eval: my.jsonl: No such file or directory'
    >>> user_error_line("eval", KeyError("x")) is None
    True
    """
    if isinstance(exc, UserError):
        return f"codeq {command}: {exc}"
    if isinstance(exc, FILE_ERRORS) and exc.filename is not None:
        return f"codeq {command}: {exc.filename}: {exc.strerror or exc}"
    return None


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    argv = [arg for arg in argv if arg != "--debug"]
    args = build_parser(argv).parse_args(argv)
    try:
        module = importlib.import_module(COMMANDS[args.command][0])
        return int(module.run_cli(args) or 0)
    except Exception as exc:  # noqa: BLE001 - sorted into user errors and bugs right here
        line = None if debug else user_error_line(args.command, exc)
        if line is None:
            raise
        print(line, file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
