"""Write requirements.lock: the exact versions, in this environment, of everything pyproject.toml
needs (its dependencies and their dependencies, transitively, markers evaluated here).

`make env` (scripts/setup_env.sh) installs torch==2.13.0 first (the CPU build on local disk,
which is why torch itself is not in the lock), then this file, then codeq with --no-deps, so a
fresh clone gets the versions the committed results and tests ran with. Regenerate after
changing pyproject.toml's dependencies, in an environment where the tests pass:

    .venv/bin/python scripts/lock_env.py            # writes requirements.lock
    .venv/bin/python scripts/lock_env.py --check    # exit 1 if the file is not what it would write

Only the dependency closure is written, not `pip freeze`: a package installed by hand for an
experiment does not end up in everyone's environment.
"""

from __future__ import annotations

import argparse
import sys
import tomllib
from importlib import metadata
from pathlib import Path

from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
LOCK = ROOT / "requirements.lock"
NOT_LOCKED = {"torch"}  # installed first, pinned, from local disk (scripts/setup_env.sh)
LOCKED_EXTRAS = ("ray",)  # extras make test needs (gpu and serve are for GPU machines only)
HEADER = ("# Exact versions of codeq's dependency closure (scripts/lock_env.py writes this file).\n"
          "# Installed by scripts/setup_env.sh after torch==2.13.0; do not edit by hand.\n")


def closure(requirements: list[str]) -> dict[str, str]:
    """{canonical name: installed version} of the requirements and everything they need."""
    env = default_environment()
    found: dict[str, str] = {}
    todo = [(Requirement(r), "") for r in requirements]
    while todo:
        req, extra = todo.pop()
        if req.marker is not None and not req.marker.evaluate({**env, "extra": extra}):
            continue
        name = canonicalize_name(req.name)
        try:
            dist = metadata.distribution(req.name)
        except metadata.PackageNotFoundError:
            raise SystemExit(f"lock_env: {req.name} is required but not installed in {sys.prefix}")
        extras = sorted(req.extras)
        key = name if not extras else f"{name}[{','.join(extras)}]"
        if key in found:
            continue
        found[key] = dist.version
        for line in dist.requires or []:
            sub = Requirement(line)
            if sub.marker is None or any(sub.marker.evaluate({**env, "extra": e}) for e in [""] + extras):
                todo.append((sub, next((e for e in extras if sub.marker and sub.marker.evaluate({**env, "extra": e})), "")))
    return {name.split("[")[0]: version for name, version in found.items()}


def render() -> str:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = project.get("optional-dependencies", {})
    pins = closure(project["dependencies"] + [r for name in LOCKED_EXTRAS for r in extras.get(name, [])])
    lines = [f"{name}=={version}" for name, version in sorted(pins.items()) if name not in NOT_LOCKED]
    return HEADER + "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare with the committed file instead of writing")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        same = LOCK.exists() and LOCK.read_text() == text
        print("requirements.lock is up to date" if same else "requirements.lock differs from this environment")
        return 0 if same else 1
    LOCK.write_text(text)
    print(f"wrote {LOCK} ({text.count(chr(10)) - 2} pins)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
