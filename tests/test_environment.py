"""environment.yml and pyproject.toml must pin the same packages (issue 2)."""

import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def _normalise(spec: str) -> str:
    return spec.replace(" ", "").lower()


def test_environment_yml_agrees_with_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d)
    assert sorted(map(_normalise, pip_section)) == sorted(map(_normalise, project["dependencies"]))
    python = next(d for d in env["dependencies"] if isinstance(d, str) and d.startswith("python"))
    assert python == "python=3.11" and project["requires-python"].startswith(">=3.11")


def test_torch_is_pinned_to_the_local_cpu_build():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert "torch==2.13.0" in project["dependencies"]


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    assert "make test" in readme and "make test" in ci.splitlines()[-1]


def test_the_lock_pins_every_dependency_within_pyprojects_ranges():
    """requirements.lock (what `make env` installs) holds an exact version of every dependency,
    each inside the range pyproject.toml (and so environment.yml) declares; torch is installed
    first, from local disk, and is not in it."""
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    pins = {}
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, version = line.partition("==")
            assert version, f"requirements.lock: {line!r} is not an exact pin"
            pins[canonicalize_name(name)] = version
    assert "torch" not in pins
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    for spec in project["dependencies"]:
        req = Requirement(spec)
        name = canonicalize_name(req.name)
        if name == "torch":
            continue
        assert name in pins, f"requirements.lock lacks {req.name} (scripts/lock_env.py)"
        assert req.specifier.contains(pins[name], prereleases=True), f"{req.name}=={pins[name]} is outside {spec}"
    setup = (ROOT / "scripts" / "setup_env.sh").read_text()
    assert "-r requirements.lock" in setup and setup.index("torch==2.13.0") < setup.index("-r requirements.lock")
