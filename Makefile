# The two set-up commands of the README:
#   make repro   - create the environment if needed, then regenerate everything (dvc repro)
#   make test    - create the environment if needed, then run the whole test suite
.PHONY: env repro test bench serve

env:
	bash scripts/setup_env.sh

repro: env
	. .venv/bin/activate && dvc repro && python -m codeq_lib.report README.md results/results.md

test: env
	bash scripts/ensure_docker.sh
	bash scripts/ensure_chromium.sh
	. .venv/bin/activate && python -m pytest -q tests notebooks --nbval-lax --ignore=notebooks/out --durations=25

bench: env
	bash scripts/ensure_docker.sh
	. .venv/bin/activate && python bench/sandbox.py && python bench/generation.py && python bench/decode.py && python bench/train.py

# serve every round's policy (base + LoRA adapters, unmerged) with vLLM on a GPU machine
serve:
	bash scripts/serve_vllm.sh
