"""Done means (issue 4): the embedded SmolLM2 from the installed package fixes
`def add(a, b): return a - b`, checked in the real sandbox; plus the conversion record and
the critic on the real model."""

import json
import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import pytest
import torch

from codeq_lib.policy import embedded_gguf_path, load_policy
from codeq_lib.policy.extract import extract_code
from codeq_lib.policy.models import CONVERSION_RECORD, default_model_dir, file_sha256
from codeq_lib.policy.prompts import build_critic_messages, build_repair_messages
from codeq_lib.sandbox import make_sandbox
from codeq_lib.data.tasks import task_from_dict

pytestmark = [pytest.mark.model, pytest.mark.slow]

ADD_TASK = task_from_dict({
    "id": "add-minus",
    "entry_point": "add",
    "buggy_code": "def add(a, b):\n    return a - b\n",
    "description": "Return the sum of a and b.",
    "visible_tests": [{"args": [1, 2], "expected": 3}, {"args": [-4, 4], "expected": 0}],
    "hidden_tests": [{"args": [10, 5], "expected": 15}, {"args": [0, 0], "expected": 0}, {"args": [2.5, 0.5], "expected": 3.0}],
})


@pytest.fixture(scope="module")
def embedded():
    # One thread: the 2 shared cores of the dev machine make 2 OpenMP threads thrash (10x slower).
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield load_policy("embedded", device="cpu")
    torch.set_num_threads(threads)


def test_embedded_model_comes_from_the_packaged_gguf(embedded):
    record = json.loads((default_model_dir() / CONVERSION_RECORD).read_text())
    gguf = embedded_gguf_path()
    assert record["source_name"] == gguf.name
    assert record["sha256"] == file_sha256(gguf)
    assert embedded.policy_id == "smollm2-135m-instruct"
    assert embedded.model.config.num_hidden_layers == 30


def test_embedded_model_fixes_add_in_the_sandbox(embedded):
    messages = build_repair_messages(ADD_TASK, ADD_TASK.buggy_code)
    gens = embedded.sample(messages, n=4, temperature=0.8, top_p=0.95, max_new_tokens=96, seed=0)
    assert embedded.stats.calls == 1 and embedded.stats.sequences == 4
    assert embedded.stats.generated_tokens == sum(g.completion_tokens for g in gens)
    extractions = [extract_code(g.text, ADD_TASK.entry_point, original=ADD_TASK.buggy_code) for g in gens]
    candidates = [e.code for e in extractions if e.has_entry_point]
    assert candidates, [g.text for g in gens]
    with make_sandbox(backend="subprocess", workers=2, timeout_s=5.0) as sandbox:
        results = sandbox.run_batch([(code, ADD_TASK, ADD_TASK.visible_tests + ADD_TASK.hidden_tests) for code in candidates])
    assert any(r.status == "pass" and r.passed == r.total == 5 for r in results), [r.to_dict() for r in results]


def test_embedded_critic_scores_are_probabilities(embedded):
    right = build_critic_messages(ADD_TASK, "def add(a, b):\n    return a + b\n")
    wrong = build_critic_messages(ADD_TASK, "def add(a, b):\n    return a - b\n")
    scores = embedded.critic([right, wrong])
    assert len(scores) == 2 and all(0.0 <= s <= 1.0 for s in scores)
    assert scores == pytest.approx([embedded.critic([right])[0], embedded.critic([wrong])[0]], abs=1e-4)


def test_gguf_loaded_in_place_equals_the_converted_checkpoint(embedded):
    """The one-off conversion is lossless: the dequantised GGUF and the saved safetensors
    give the same logits."""
    direct = load_policy(str(embedded_gguf_path()), device="cpu")
    assert direct.policy_id == "SmolLM2-135M-Instruct.Q4_1"
    ids = embedded.encode([[{"role": "user", "content": "def add(a, b):"}]])
    with torch.inference_mode():
        assert torch.equal(direct.model(**ids).logits, embedded.model(**ids).logits)
