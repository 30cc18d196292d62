"""Run a stage notebook with papermill, parameters taken from one section of params.yaml.

A stage notebook's `parameters` cell defines `config` (a dict with tiny CPU-safe values, so
the notebook runs as saved and under nbval) plus a few scalars (`round`, paths). DVC calls

    python -m codeq_lib.notebooks notebooks/01_collect_trajectories.ipynb --section collect -p round=1

which injects `config = params[section]` (and the `-p` scalars) and saves the executed
notebook under notebooks/out/ as the stage's record.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import yaml

from codeq_lib.config import load_params

PACKAGE_ROOT = Path(__file__).resolve().parents[1]


def project_root() -> Path:
    """Where a stage's relative paths start: the folder `dvc repro` runs in (passed to the
    kernel as CODEQ_ROOT), else the checkout this package lives in (nbval, Jupyter)."""
    return Path(os.environ.get("CODEQ_ROOT") or PACKAGE_ROOT)


ROOT = project_root()


def _scalar(text: str):
    """`-p key=value` values are YAML scalars: 1 -> int, true -> bool, '' -> ''."""
    value = yaml.safe_load(text) if text != "" else ""
    return value


def stage_parameters(section: str | None, params_path: str, extra: dict) -> dict:
    """`config` = the params section; `-p` values as given, except `params:NAME`, which injects
    another whole section (a stage that also needs, say, the train section)."""
    params = {}
    needed = [section] if section else []
    needed += [v.split(":", 1)[1] for v in extra.values() if isinstance(v, str) and v.startswith("params:")]
    all_params = load_params(params_path) if needed else {}
    for name in needed:
        if name not in all_params:
            raise SystemExit(f"{params_path}: no section {name!r}; sections: {sorted(all_params)}")
    if section:
        params["config"] = all_params[section]
    for key, value in extra.items():
        params[key] = all_params[value.split(":", 1)[1]] if isinstance(value, str) and value.startswith("params:") else value
    return params


def run_notebook(notebook: str | Path, output: str | Path, parameters: dict, cwd: Path | None = None) -> Path:
    import papermill

    cwd = Path(cwd or Path.cwd()).resolve()
    os.environ["CODEQ_ROOT"] = str(cwd)  # the kernel inherits it: see project_root()
    Path(output).parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(output).with_suffix(".partial.ipynb")
    papermill.execute_notebook(
        str(notebook), str(tmp), parameters=parameters, kernel_name="python3",
        cwd=str(cwd), progress_bar=False, log_output=True,
    )
    tmp.replace(output)  # the record appears only when the whole notebook ran
    return Path(output)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebook")
    parser.add_argument("--section", default=None, help="params.yaml section injected as `config`")
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("-p", "--param", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--output", default=None, help="executed notebook (default notebooks/out/<name>[_round<r>].ipynb)")
    args = parser.parse_args(argv)
    extra = {}
    for item in args.param:
        key, sep, value = item.partition("=")
        if not sep:
            parser.error(f"-p {item!r}: expected KEY=VALUE")
        extra[key] = _scalar(value)
    notebook = Path(args.notebook)
    suffix = f"_round{extra['round']}" if "round" in extra else ""
    output = args.output or Path("notebooks") / "out" / f"{notebook.stem}{suffix}.ipynb"
    run_notebook(notebook, output, stage_parameters(args.section, args.params, extra))
    return 0


if __name__ == "__main__":
    sys.exit(main())
