"""Training: DPO (TRL DPOTrainer + PEFT LoRA) and GRPO (TRL GRPOTrainer + execution reward).

Paired `<method>_config.py` / `<method>_trainer.py` modules as in TRL; `rewards` holds the pure
reward shaping, `merge` exports a standalone checkpoint, `report` turns a training log into a
CSV and a figure, `distributed` is what a process under `accelerate launch` reads of its launcher,
`cli` is `codeq train`. Heavy imports (torch, trl) stay inside the modules so
`import codeq_lib.train` is cheap.
"""
