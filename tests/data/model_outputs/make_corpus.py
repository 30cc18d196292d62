"""Regenerate corpus.jsonl: REAL raw completions of the embedded SmolLM2-135M-Instruct for
repair prompts built by codeq_lib.policy.prompts (seeded; CPU fp32). The extraction tests
read the committed file; they never call the model. Run (takes a few minutes on 2 cores):

    HF_HUB_OFFLINE=1 python tests/data/model_outputs/make_corpus.py
"""

from __future__ import annotations

from pathlib import Path

import torch

from codeq_lib.io import write_jsonl
from codeq_lib.policy import load_policy
from codeq_lib.policy.prompts import build_repair_messages
from codeq_lib.data.tasks import task_from_dict

TASKS = [
    ("add", "def add(a, b):\n    return a - b\n", "Return the sum of a and b.", [[1, 2], 3]),
    ("max_of_list", "def max_of_list(xs):\n    best = 0\n    for x in xs:\n        if x < best:\n            best = x\n    return best\n",
     "Return the largest number in a non-empty list.", [[[-3, -1, -2]], -1]),
    ("is_palindrome", "def is_palindrome(s):\n    return s == s[::1]\n", "Return True if the string reads the same backwards.", [["abba"], True]),
    ("count_vowels", "def count_vowels(text)\n    return sum(1 for c in text if c in 'aeiou')\n",
     "Count the lowercase vowels in text.", [["banana"], 3]),
    ("fib", "def fib(n):\n    a, b = 0, 1\n    for _ in range(n + 1):\n        a, b = b, a + b\n    return a\n",
     "Return the n-th Fibonacci number, fib(0) = 0, fib(1) = 1.", [[5], 5]),
    ("Solution.twoSum", "class Solution:\n    def twoSum(self, nums: List[int], target: int) -> List[int]:\n        seen = {}\n"
     "        for i, x in enumerate(nums):\n            if target - x in seen:\n                return [seen[target - x], i]\n"
     "            seen[x] = i + 1\n", "Given nums and target, return the indices of the two numbers that add up to target.",
     [[[2, 7, 11, 15], 9], [0, 1]]),
    ("Solution.reverseWords", "class Solution:\n    def reverseWords(self, s: str) -> str:\n        return ' '.join(s.split()[::1])\n",
     "Reverse the order of the words in s.", [["the sky is blue"], "blue is sky the"]),
]
RUNS = [  # (max_new_tokens, temperature): a short budget gives real truncated outputs
    (160, 0.8),
    (48, 0.8),
]


def main() -> None:
    torch.set_num_threads(1)  # the dev machine's 2 cores are shared; 2 OpenMP threads thrash there
    policy = load_policy("embedded", device="cpu")
    rows = []
    for entry_point, code, description, (args, expected) in TASKS:
        test = {"args": args, "expected": expected}
        task = task_from_dict({"id": entry_point, "entry_point": entry_point, "buggy_code": code,
                               "visible_tests": [test], "hidden_tests": [test], "description": description})
        feedback = [{"input": f"{entry_point}(...)", "expected": str(expected), "got": "wrong", "error": None}]
        messages = build_repair_messages(task, code, feedback=feedback)
        for max_new_tokens, temperature in RUNS:
            for index, gen in enumerate(policy.sample(messages, n=3, temperature=temperature, top_p=0.95,
                                                      max_new_tokens=max_new_tokens, seed=7)):
                rows.append({"id": f"{entry_point}-{max_new_tokens}-{index}", "entry_point": entry_point,
                             "max_new_tokens": max_new_tokens, "temperature": temperature, "seed": 7,
                             "model": policy.policy_id, "buggy_code": code, "text": gen.text, "finish_reason": gen.finish_reason,
                             "completion_tokens": gen.completion_tokens})
                print(rows[-1]["id"], gen.finish_reason, gen.completion_tokens, flush=True)
    write_jsonl(Path(__file__).with_name("corpus.jsonl"), rows)


if __name__ == "__main__":
    main()
