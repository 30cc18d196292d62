"""The OpenAI-compatible HTTP backend against a REAL server on loopback: llama-cpp-python's
server (`python -m llama_cpp.server`) serving the embedded GGUF. No mocks."""

import math
import os
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from codeq_lib.policy import embedded_gguf_path
from codeq_lib.policy.openai_backend import OpenAIPolicy, ServerError, p_yes_from_top_logprobs, split_tokens

pytest.importorskip("llama_cpp.server", reason="needs llama-cpp-python[server] (see docs: optional server backend)")

pytestmark = [pytest.mark.model, pytest.mark.slow]

MESSAGES = [{"role": "system", "content": "You are an expert Python programmer."},
            {"role": "user", "content": "Fix this and reply with one ```python block:\ndef add(a, b):\n    return a - b"}]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    port = _free_port()
    log = open(tmp_path_factory.mktemp("server") / "server.log", "w+")
    process = subprocess.Popen(
        [sys.executable, "-m", "llama_cpp.server", "--model", str(embedded_gguf_path()), "--host", "127.0.0.1",
         "--port", str(port), "--n_ctx", "2048", "--n_threads", "2", "--model_alias", "smollm2", "--seed", "0"],
        stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )
    base = f"http://127.0.0.1:{port}/v1"
    deadline = time.monotonic() + 180
    while True:
        try:
            urllib.request.urlopen(base + "/models", timeout=2).read()
            break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                log.seek(0)
                raise RuntimeError(f"llama_cpp.server did not start: {log.read()[-2000:]}")
            time.sleep(0.5)
    yield base
    process.terminate()
    process.wait(timeout=30)
    log.close()


def test_sample_returns_k_generations_with_exact_totals(server):
    policy = OpenAIPolicy(base_url=server, model="smollm2")
    gens = policy.sample(MESSAGES, n=3, temperature=0.8, top_p=0.95, max_new_tokens=48, seed=0)
    assert len(gens) == 3
    assert all(g.finish_reason in ("stop", "length") for g in gens)
    assert all(g.prompt_tokens > 20 and 0 < g.completion_tokens <= 48 for g in gens)
    assert policy.stats.sequences == 3 and policy.stats.calls >= 1
    assert policy.stats.generated_tokens == sum(g.completion_tokens for g in gens)
    assert policy.policy_id == "openai:smollm2"
    again = OpenAIPolicy(base_url=server, model="smollm2").sample(MESSAGES, n=1, temperature=0.0, max_new_tokens=16)
    assert again[0].text == OpenAIPolicy(base_url=server, model="smollm2").sample(
        MESSAGES, n=1, temperature=0.0, max_new_tokens=16)[0].text  # greedy is repeatable


def test_critic_reads_p_yes_from_logprobs(server):
    policy = OpenAIPolicy(base_url=server, model="smollm2")
    judge = [{"role": "user", "content": "Is 2 + 2 equal to 4? Answer yes or no."}]
    scores = policy.critic([judge, MESSAGES])
    assert len(scores) == 2 and all(0.0 <= s <= 1.0 for s in scores)
    assert policy.stats.critic_calls == 1


def test_unreachable_server_names_the_url():
    policy = OpenAIPolicy(base_url=f"http://127.0.0.1:{_free_port()}/v1", model="x", timeout_s=5)
    with pytest.raises(ServerError, match=r"http://127\.0\.0\.1:\d+/v1/chat/completions"):
        policy.sample(MESSAGES)


def test_pure_helpers():
    assert split_tokens(10, ["aaaa", "a", ""]) == [8, 2, 0]
    assert sum(split_tokens(7, ["ab", "cd", "ef"])) == 7
    assert p_yes_from_top_logprobs([]) == 0.5
    assert p_yes_from_top_logprobs([{"token": " yes", "logprob": 0.0}, {"token": "x", "logprob": -1.0}]) == 1.0
    assert p_yes_from_top_logprobs([{"token": "Yes", "logprob": math.log(0.3)},
                                    {"token": " no", "logprob": math.log(0.1)}]) == pytest.approx(0.75)
