"""Where tasks come from (DESIGN.md "Layout"): the task model and every source, one module each.

- `tasks`: schema v1, the strict JSONL loader and writer;
- `curriculum` (+ `curriculum_bugs`, its data): the project's own small functions and bugs;
- `debugbench` (+ `leetcode_examples`, `random_inputs`): DebugBench Python 3 with tests
  synthesised from examples, constraints and the oracle;
- `mbpp`: MBPP problems as reference problems with oracle-computed tests;
- `mutate` (operators) and `bugs` (keep-checks in the sandbox): bugs planted in any reference;
- `problems` (one key across sources) and `split` (by group, stratified): the joint split;
- `prepare`: the stage that builds it all and writes the data report.
"""
