"""Stage configs and the glue each pipeline notebook calls (notebooks stay thin), one module
per concept:

- `fields`: the knobs the sampling stages share (processes, concurrency, device, ...);
- `runs`: run folders (identity, resume or reset), the pool of concurrent searches, evaluation runs;
- `convert`, `collect` (collect and pairs), `train` (train and select), `evaluate` (evaluate,
  ablations and results): one dataclass per params.yaml section (strict: unknown keys are
  errors) and the function its notebook calls.

Round chaining (DESIGN.md "Self-improvement"): round r collects with `models/round{r-1}`
(`models/base` for r = 1), trains a LoRA on its pairs starting from that policy, and writes
`models/round{r}`: the base plus that adapter, unmerged, which round r + 1 continues.
Notebooks use `from codeq_lib import stages` and the names below.
"""

from codeq_lib.study.policies import (SAMPLER_VERSION, TINY_MODEL, TINY_QWEN2_MODEL, cpu_threads,  # noqa: F401
                                      model_identity, open_policy, sampler_identity)
from codeq_lib.stages.fields import (processes_field, device_field, quantize_field, load_options, server_field,
                                     concurrency_field, call_cache_field, HELD_OUT, held_out_field,
                                     sample_field, load_config)  # noqa: F401
from codeq_lib.stages.runs import (_task_hashes, _what_decides_a_task, wait_for_identity, reset_if_changed,
                                   searchers, RESULT_ROWS, evaluate_runs, read_metrics)  # noqa: F401
from codeq_lib.stages.convert import (ConvertStage, run_convert)  # noqa: F401
from codeq_lib.stages.collect import (CollectStage, collect_identity, collect_tasks, run_collect, PairsStage,
                                      held_out_task_files, run_pairs)  # noqa: F401
from codeq_lib.stages.train import (TrainStage, train_identity, selected_run, run_train, SelectStage,
                                    candidate_train_stage, run_select, chosen_train_stage)  # noqa: F401
from codeq_lib.stages.evaluate import (EvaluateStage, run_evaluate, AblationStage, ablation_runs,
                                       run_ablations, ResultsStage)  # noqa: F401
