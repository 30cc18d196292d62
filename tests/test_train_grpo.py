"""GRPO with the execution reward: the real sandbox scores each rewrite; a loss is logged, it is
finite, rewards vary within a group and the LoRA parameters change."""

from __future__ import annotations

import math

import pytest
import torch

from codeq_lib.io import read_json, read_jsonl
from codeq_lib.policy.models import tiny_random_model_dir
from codeq_lib.policy.prompts import build_repair_messages
from codeq_lib.sandbox import make_sandbox
from codeq_lib.data.tasks import Task, TestCase
from codeq_lib.train.grpo_config import GRPOConfig
from codeq_lib.train.grpo_trainer import ExecutionReward, train_grpo

pytestmark = pytest.mark.slow

TASK = Task(id="add-1", entry_point="add", buggy_code="def add(a, b):\n    return a - b\n",
            visible_tests=[TestCase(args=[1, 2], expected=3)], hidden_tests=[TestCase(args=[5, 5], expected=10)])
RIGHT = "```python\ndef add(a, b):\n    return a + b\n```"
WRONG = "```python\ndef add(a, b):\n    return a - b\n```"


def test_doctests_pass():
    import doctest

    from codeq_lib.train import grpo_trainer

    assert doctest.testmod(grpo_trainer).failed == 0


@pytest.fixture(scope="module")
def sandbox():
    with make_sandbox(workers=1, timeout_s=5.0) as sb:
        yield sb


def test_execution_reward_scores_with_the_sandbox(sandbox):
    reward = ExecutionReward(sandbox, {TASK.id: TASK}, reward_tests="all")
    completions = [[{"role": "assistant", "content": text}] for text in
                   (RIGHT, WRONG, "I cannot help.", "```python\ndef add(a, b):\n    return (a + b) if a < 5 else 0\n```")]
    logged = {}
    rewards = reward(prompts=[[]] * 4, completions=completions, task_id=[TASK.id] * 4,
                     log_metric=lambda name, value: logged.__setitem__(name, value))
    # all 2 tests pass: 1 + 1 + 0.1; none pass: 0 + 0.1; no program: -0.1; one of two: 0.5 + 0.1
    assert rewards == pytest.approx([2.1, 0.1, -0.1, 0.6])
    assert logged == {"solved": 0.25, "extracted": 0.75}
    visible_only = ExecutionReward(sandbox, {TASK.id: TASK}, reward_tests="visible")
    assert visible_only(prompts=[[]], completions=[completions[3]], task_id=[TASK.id]) == pytest.approx([2.1])


@pytest.fixture(scope="module")
def primed_model_dir(tmp_path_factory):
    """The tiny random model, briefly fine-tuned to answer the repair prompt with RIGHT or WRONG,
    so sampled rewrites sometimes parse and run: a random model's rewards would all be equal,
    and GRPO's group-relative advantage (hence its gradient) would be zero."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    source = tiny_random_model_dir(0)
    tokenizer = AutoTokenizer.from_pretrained(str(source))
    model = AutoModelForCausalLM.from_pretrained(str(source), dtype=torch.float32)
    prompt_ids = tokenizer.apply_chat_template(build_repair_messages(TASK, TASK.buggy_code),
                                               add_generation_prompt=True, tokenize=True, return_dict=True)["input_ids"]
    torch.manual_seed(0)
    optimizer = torch.optim.Adam(model.parameters(), lr=5e-3)
    for step in range(40):
        completion = tokenizer((RIGHT, WRONG)[step % 2] + tokenizer.eos_token, add_special_tokens=False)["input_ids"]
        input_ids = torch.tensor([prompt_ids + completion])
        labels = input_ids.clone()
        labels[:, : len(prompt_ids)] = -100
        loss = model(input_ids=input_ids, labels=labels).loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    out = tmp_path_factory.mktemp("primed")
    model.save_pretrained(str(out))
    tokenizer.save_pretrained(str(out))
    return str(out)


def test_grpo_step_logs_finite_loss_and_changes_lora(primed_model_dir, sandbox, tmp_path):
    from safetensors.torch import load_file

    cfg = GRPOConfig(base=primed_model_dir, out_dir=str(tmp_path / "grpo"), num_generations=8,
                     max_completion_length=24, temperature=1.0, learning_rate=1e-2, max_steps=1,
                     lora_r=4, lora_alpha=8, device="cpu")
    summary = train_grpo(cfg, tasks=[TASK], sandbox=sandbox)
    log = read_jsonl(tmp_path / "grpo" / "log.jsonl")
    steps = [row for row in log if "loss" in row]
    assert len(steps) == 1 and math.isfinite(steps[0]["loss"]) and summary["finite"]
    assert "rewards/execution_reward/mean" in steps[0]
    assert steps[0]["reward_std"] > 0  # the sandbox told the group's rewrites apart
    weights = load_file(str(tmp_path / "grpo" / "adapter" / "adapter_model.safetensors"))
    assert any(t.abs().max().item() > 0 for name, t in weights.items() if "lora_B" in name)
    run = read_json(tmp_path / "grpo" / "run.json")
    assert run["summary"]["trainer"] == "grpo" and run["config"]["reward_tests"] == "all"


def test_grpo_config_is_strict():
    with pytest.raises(ValueError, match="num_generations"):
        GRPOConfig(num_generations=1)


def test_grpo_refuses_a_held_out_task(tmp_path):
    """Protocol: GRPO trains on the training split only; a task of a held-out file is refused
    by name before any model is loaded."""
    from codeq_lib.data.tasks import save_tasks

    save_tasks([TASK], str(tmp_path / "x_test.jsonl"))
    cfg = GRPOConfig(base="no-such-model-is-loaded", out_dir=str(tmp_path / "grpo"),
                     held_out=[str(tmp_path / "*_test.jsonl")])
    with pytest.raises(ValueError, match="grpo: task 'add-1' is in a held-out file"):
        train_grpo(cfg, tasks=[TASK])
