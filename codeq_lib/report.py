"""The README's results block, generated from the pipeline's outputs (never typed by hand).

`06_results.ipynb` writes `results/results.md`; `make repro` then calls
`python -m codeq_lib.report README.md results/results.md`, which replaces the text between
the `<!-- results:start -->` and `<!-- results:end -->` markers.
"""

from __future__ import annotations

import sys
from pathlib import Path

from codeq_lib.io import atomic_write_text

START, END = "<!-- results:start -->", "<!-- results:end -->"


def replace_block(text: str, block: str) -> str:
    """Put `block` between the markers of `text`; a README without both markers is an error."""
    if START not in text or END not in text or text.index(START) > text.index(END):
        raise ValueError(f"README needs the markers {START} and {END}, in that order")
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{START}\n{block.strip()}\n{END}{tail}"


def update_readme(readme: str | Path, results_md: str | Path) -> Path:
    readme, results_md = Path(readme), Path(results_md)
    if not results_md.exists():
        raise FileNotFoundError(f"{results_md}: not found; run `dvc repro` first")
    return atomic_write_text(readme, replace_block(readme.read_text(), results_md.read_text()))


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 2:
        print("usage: python -m codeq_lib.report README.md results/results.md", file=sys.stderr)
        return 2
    update_readme(*argv)
    return 0


if __name__ == "__main__":
    sys.exit(main())
