"""Generation stops per row once the first code block closes (codeq_lib/policy/stopping.py)."""

import torch

from codeq_lib.policy.models import embedded_tokenizer_dir
from codeq_lib.policy.stopping import CodeBlockClosed, code_block_closed


def test_code_block_closed_values():
    assert code_block_closed("```python\ndef f():\n    return 1\n```")
    assert not code_block_closed("Sure! ```python\ndef f():\n    return 1\n")
    assert not code_block_closed("def f():\n    return 1\n")


def test_criterion_is_per_row_on_the_generated_part_only():
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(embedded_tokenizer_dir())
    prompt = tokenizer("Fix it: ```python\ndef f(): pass\n```\n")["input_ids"]  # fences in the prompt do not count
    done = tokenizer("```python\ndef f():\n    return 1\n```")["input_ids"]
    open_ = tokenizer("```python\ndef f():\n    return 1\n")["input_ids"]
    width = max(len(done), len(open_))
    pad = tokenizer.eos_token_id
    rows = [prompt + done + [pad] * (width - len(done)), prompt + open_ + [pad] * (width - len(open_))]
    flags = CodeBlockClosed(tokenizer, len(prompt))(torch.tensor(rows), None)
    assert flags.tolist() == [True, False]
