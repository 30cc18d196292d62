"""Both profiles parse strictly into the stage configs (an unknown key would be an error)."""

from pathlib import Path

import pytest
import yaml

from codeq_lib import stages
from codeq_lib.config import ConfigError, from_dict
from codeq_lib.data.prepare import PrepareConfig
from codeq_lib.train.dpo_config import DPOConfig

ROOT = Path(__file__).resolve().parents[1]
SECTIONS = {"prepare": PrepareConfig, "convert": stages.ConvertStage, "collect": stages.CollectStage,
            "pairs": stages.PairsStage, "train": stages.TrainStage, "evaluate": stages.EvaluateStage,
            "ablations": stages.AblationStage, "results": stages.ResultsStage, "select": stages.SelectStage}


@pytest.mark.parametrize("profile", ["params.yaml", "profiles/embedded.yaml", "profiles/full.yaml"])
def test_profile_sections_parse(profile):
    params = yaml.safe_load((ROOT / profile).read_text())
    assert set(params) == set(SECTIONS)
    for name, cls in SECTIONS.items():
        cfg = from_dict(cls, params[name], where=f"{profile}:{name}")
        if name == "train":
            from codeq_lib.train.rft_trainer import RFTConfig

            from_dict(DPOConfig, cfg.dpo, where=f"{profile}:train.dpo")
            from_dict(RFTConfig, cfg.rft, where=f"{profile}:train.rft")


def test_default_profile_is_the_embedded_one():
    assert (ROOT / "params.yaml").read_text() == (ROOT / "profiles/embedded.yaml").read_text()


def test_typo_in_a_stage_section_names_the_key():
    with pytest.raises(ConfigError, match=r"params.yaml:collect.search: unknown key\(s\) \['k'\]"):
        from_dict(stages.CollectStage, {"search": {"k": 4}}, where="params.yaml:collect")
