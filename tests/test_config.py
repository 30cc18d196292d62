"""Strict config: unknown keys and wrong types are errors that name the key."""

from dataclasses import dataclass, field
from typing import Literal

import pytest

from codeq_lib.config import ConfigError, from_dict, load_section


@dataclass
class Inner:
    k: int = field(default=4, metadata={"help": "rewrites per expansion"})


@dataclass
class Outer:
    mode: Literal["mcts", "rex"] = "mcts"
    alpha: float = 0.5
    names: list[str] = field(default_factory=list)
    inner: Inner = field(default_factory=Inner)
    budget: int | None = None


def test_valid_values_and_int_to_float():
    cfg = from_dict(Outer, {"mode": "rex", "alpha": 1, "names": ["a"], "inner": {"k": 8}})
    assert cfg.alpha == 1.0 and isinstance(cfg.alpha, float)
    assert cfg.inner.k == 8 and cfg.mode == "rex" and cfg.budget is None


@pytest.mark.parametrize(
    "data, message",
    [
        ({"alpah": 0.5}, "unknown key(s) ['alpah']"),
        ({"mode": "bfs"}, "params.mode: 'bfs' is not one of ['mcts', 'rex']"),
        ({"alpha": "high"}, "params.alpha: expected a number"),
        ({"inner": {"k": 2.5}}, "params.inner.k: expected an integer"),
        ({"inner": {"K": 2}}, "params.inner: unknown key(s) ['K']"),
        ({"names": "a"}, "params.names: expected a list"),
        ({"budget": True}, "params.budget"),
    ],
)
def test_errors_name_the_key(data, message):
    with pytest.raises(ConfigError) as info:
        from_dict(Outer, data, where="params")
    assert message in str(info.value)


def test_load_section_names_missing_section(tmp_path):
    path = tmp_path / "params.yaml"
    path.write_text("search:\n  mode: rex\n")
    assert load_section(Outer, "search", path).mode == "rex"
    with pytest.raises(ConfigError, match="no section 'train'"):
        load_section(Outer, "train", path)
