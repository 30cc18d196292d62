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


PROGRAM = "```python\ndef add(a, b):\n    return a + b\n\n"


def test_program_ends_at_the_first_complete_line_of_top_level_test_code():
    from codeq_lib.policy.stopping import program_end

    for tests in ("print(add(1, 2))\n", "assert add(1, 2) == 3\n", "for a in range(3):\n",
                  "sol = Solution()\n", 'if __name__ == "__main__":\n', "add(1, 2)\n"):
        text = PROGRAM + "# Test it\n" + tests + "    more"
        assert text[:program_end(text)] == PROGRAM + "# Test it\n", tests
    assert program_end(PROGRAM + "print(add(1, 2))") is None  # the line is not complete yet
    assert program_end("Use print(add(1, 2))\nlike this:\n" + PROGRAM) is None  # prose before the block


def test_program_goes_on_through_definitions_strings_and_brackets():
    from codeq_lib.policy.stopping import program_end

    for more in ("def sub(a, b):\n    return a - b\n", "class Solution:\n    pass\n", "import math\n",
                 "from math import gcd\n", "@cache\n", "MOD = 10**9 + 7\n", "LIMIT: int = 5\n"):
        assert program_end(PROGRAM + more) is None, more
    # a column-0 line inside an open string or bracket, and code before any definition
    assert program_end("```python\ndef f():\n    s = '''\nprint(1)\n'''\n") is None
    assert program_end("```python\nX = [\n1,\n]\ndef f():\n    return X\n") is None
    assert program_end("```python\nx = 1\nprint(x)\n") is None
    closed = PROGRAM + "print(add(1, 2))\n```\nDone."
    assert program_end(PROGRAM + "```\nprint(add(1, 2))\n") == len(PROGRAM + "```\nprint(add(1, 2))\n")
    assert program_end(closed) == len(closed)  # a closed block is kept whole (the extractor reads it)


def test_cut_completion_loses_the_test_code_and_its_tokens():
    from codeq_lib.policy import tiny_random_policy

    policy = tiny_random_policy()
    ids = policy.tokenizer(PROGRAM + "print(add(1, 2))\n", add_special_tokens=False)["input_ids"]
    generation = policy._generation(ids, prompt_tokens=7, stopped=True)
    assert generation.text == PROGRAM
    # the count is of the tokens the model generated before the cut (not a re-tokenisation)
    assert policy.tokenizer.decode(ids[:generation.completion_tokens]) == PROGRAM
    assert "print" in policy.tokenizer.decode(ids[:generation.completion_tokens + 1])
    assert generation.finish_reason == "stop"
    policy.stop_at_code_end = False  # experiments that want the model's whole answer
    assert "print" in policy._generation(ids, prompt_tokens=7, stopped=True).text
