"""GRPO with an execution reward: TRL's `GRPOTrainer` + a PEFT LoRA + the real sandbox.

Each step samples `num_generations` full rewrites of a training task's buggy program (the
same repair prompt the search uses), extracts the program from each, runs it on the task's
tests in the sandbox and scores it with `rewards.shaped_reward` (pass fraction + full-solve
bonus + small format / anti-hacking terms, as in DebugArena and the GRPO refinement
studies). GRPO's group-relative advantage then needs no value model. A rewrite the sandbox
could not run scores `None`, which TRL turns into NaN and leaves out of the group statistics.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from codeq_lib.train.grpo_config import GRPOConfig
from codeq_lib.train.rewards import RewardConfig, reward_from_result


def completion_text(completion: Any) -> str:
    """The assistant text of a TRL completion (a message list when conversational, else a string).

    >>> completion_text([{"role": "assistant", "content": "x = 1"}]), completion_text("y = 2")
    ('x = 1', 'y = 2')
    """
    if isinstance(completion, list):
        return "".join(str(message.get("content") or "") for message in completion)
    return str(completion)


class ExecutionReward:
    """TRL reward function: run each rewrite on its task's tests in the sandbox and shape the score.

    Called as `reward(prompts=..., completions=..., task_id=[...], **kwargs)`; `task_id` is
    the dataset column TRL repeats once per completion.
    """

    __name__ = "execution_reward"  # TRL names the logged reward column after it

    def __init__(self, sandbox, tasks_by_id: dict, reward_tests: str = "all", config: RewardConfig = RewardConfig()):
        self.sandbox, self.tasks_by_id, self.reward_tests, self.config = sandbox, tasks_by_id, reward_tests, config

    def tests_for(self, task) -> list:
        # Protocol rule 3: training tasks may use all their tests as reward.
        return list(task.visible_tests) + (list(task.hidden_tests) if self.reward_tests == "all" else [])

    def __call__(self, prompts, completions, task_id, **kwargs) -> list[float | None]:
        from codeq_lib.policy.extract import extract_code

        tasks = [self.tasks_by_id[tid] for tid in task_id]
        extractions = [extract_code(completion_text(c), t.entry_point) for c, t in zip(completions, tasks)]
        runnable = [i for i, ex in enumerate(extractions) if ex.code.strip()]
        results = self.sandbox.run_batch([(extractions[i].code, tasks[i], self.tests_for(tasks[i])) for i in runnable])
        by_index = dict(zip(runnable, results))
        rewards = []
        for i, ex in enumerate(extractions):
            well_formed = bool(ex.code.strip()) and ex.has_entry_point and ex.syntax_ok
            rewards.append(reward_from_result(by_index.get(i), well_formed, self.config))
        log_metric = kwargs.get("log_metric")
        if log_metric is not None:
            solved = [r.pass_fraction == 1.0 for r in results if r.pass_fraction is not None]
            log_metric("solved", sum(solved) / len(completions))
            log_metric("extracted", len(runnable) / len(completions))
        return rewards


def _grpo_trainer_class():
    """`trl.GRPOTrainer` with the fp32 LM head re-installed (as for DPO, see dpo_trainer.py).

    TRL's own `cast_lm_head_to_fp32` swaps the head module and, for tied embeddings, hooks
    `model.model.embed_tokens`, which a PEFT-wrapped model does not expose; re-installing the
    fused head with an fp32 projection needs neither. GRPO's importance ratios are
    exp(logp - old_logp), so rounding in logp is amplified, not averaged away."""
    from peft import PeftModel
    from trl import GRPOTrainer
    from trl.trainer.utils import add_fused_lm_head

    class CodeqGRPOTrainer(GRPOTrainer):
        def __init__(self, *args, fp32_logprobs: bool = True, **kwargs):
            super().__init__(*args, **kwargs)
            if fp32_logprobs:
                policy = self.model.get_base_model() if isinstance(self.model, PeftModel) else self.model
                add_fused_lm_head(policy, temperature=self.temperature, cast_lm_head_to_fp32=True,
                                  outputs=("log_probs", "entropy"))
                if self.ref_model is not None:
                    add_fused_lm_head(self.accelerator.unwrap_model(self.ref_model), temperature=self.temperature,
                                      cast_lm_head_to_fp32=True)

    return CodeqGRPOTrainer


def tasks_dataset(tasks: list):
    """One row per training task: the search's repair prompt on its buggy program + its id."""
    from datasets import Dataset

    from codeq_lib.policy.prompts import build_repair_messages

    return Dataset.from_list([{"prompt": build_repair_messages(t, t.buggy_code), "task_id": t.id} for t in tasks])


def trl_grpo_args(cfg: GRPOConfig, out_dir: Path):
    from trl import GRPOConfig as TRLGRPOConfig

    from codeq_lib.policy.models import resolve_device

    return TRLGRPOConfig(
        output_dir=str(out_dir / "trainer"),
        per_device_train_batch_size=cfg.num_generations,  # one task's group per forward pass
        gradient_accumulation_steps=cfg.tasks_per_step,
        num_generations=cfg.num_generations,
        max_completion_length=cfg.max_completion_length,
        temperature=cfg.temperature,
        beta=cfg.beta,
        learning_rate=cfg.learning_rate,
        max_steps=cfg.max_steps,
        num_train_epochs=cfg.num_train_epochs,
        bf16=False,
        gradient_checkpointing=False,
        use_cpu=resolve_device(cfg.device) == "cpu",
        logging_steps=cfg.logging_steps,
        save_strategy="no",
        report_to="none",
        seed=cfg.seed,
        disable_tqdm=True,
        log_completions=False,
    )


def build_grpo_trainer(cfg: GRPOConfig, sandbox, tasks: list):
    from codeq_lib.train.dpo_trainer import load_start_policy, lora_config

    model, tokenizer, _, continues = load_start_policy(cfg.start or cfg.base, cfg.previous_adapter, cfg.device,
                                                       cfg.dtype)
    tokenizer.padding_side = "left"  # generation pads on the left
    reward = ExecutionReward(sandbox, {t.id: t for t in tasks}, cfg.reward_tests,
                             RewardConfig(cfg.solve_bonus, cfg.format_weight, cfg.hack_penalty, cfg.hack_penalty_cap))
    return _grpo_trainer_class()(
        model=model,
        reward_funcs=[reward],
        args=trl_grpo_args(cfg, Path(cfg.out_dir)),
        train_dataset=tasks_dataset(tasks),
        processing_class=tokenizer,
        peft_config=None if continues else lora_config(cfg),
        fp32_logprobs=cfg.fp32_logprobs,
    )


def train_grpo(cfg: GRPOConfig, tasks: list | None = None, sandbox=None) -> dict[str, Any]:
    """Train GRPO on the training tasks and write the checkpoint (same layout as DPO)."""
    from codeq_lib.data.sample import refuse_held_out
    from codeq_lib.data.tasks import load_tasks
    from codeq_lib.sandbox import make_sandbox
    from codeq_lib.train.dpo_trainer import save_checkpoint

    tasks = tasks if tasks is not None else load_tasks(cfg.tasks)
    if cfg.max_tasks is not None:
        tasks = tasks[: cfg.max_tasks]
    refuse_held_out(tasks, cfg.held_out, "grpo")  # protocol: never a test or validation task
    if not tasks:
        raise ValueError(f"{cfg.tasks or 'tasks'}: no training tasks for GRPO")
    own_sandbox = sandbox is None
    sandbox = sandbox or make_sandbox(workers=cfg.sandbox_workers, timeout_s=cfg.sandbox_timeout_s)
    try:
        trainer = build_grpo_trainer(cfg, sandbox, tasks)
        result = trainer.train()
    finally:
        if own_sandbox:
            sandbox.close()
    losses = [row["loss"] for row in trainer.state.log_history if "loss" in row]
    summary = {
        "trainer": "grpo",
        "reference": {"kind": "none" if cfg.beta == 0 else "previous", "beta": cfg.beta,
                      "previous_adapter": cfg.previous_adapter, "base": cfg.base, "start": cfg.start},
        "n_tasks": len(tasks),
        "steps": trainer.state.global_step,
        "train_loss": result.training_loss,
        "final_loss": losses[-1] if losses else None,
        "finite": all(math.isfinite(x) for x in losses),
        "reward_tests": cfg.reward_tests,
    }
    adapter = save_checkpoint(trainer, cfg, Path(cfg.out_dir), {"summary": summary})
    summary["adapter"] = str(adapter)
    print(json.dumps(summary, sort_keys=True, default=str))
    return summary
