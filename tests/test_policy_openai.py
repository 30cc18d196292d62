"""The OpenAI-compatible HTTP backend against a REAL server on loopback: `transformers
serve` (transformers' own FastAPI/uvicorn OpenAI-compatible server; needs fastapi, uvicorn,
openai) serving the converted embedded model on 127.0.0.1. No mocks."""

import json
import math
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from codeq_lib.policy.models import ensure_embedded_model_dir
from codeq_lib.policy.openai_backend import OpenAIPolicy, ServerError, p_yes_from_answer, p_yes_from_top_logprobs, split_tokens

pytestmark = [pytest.mark.model, pytest.mark.slow]

# `transformers serve` needs the serving extra (transformers[serving]: fastapi, uvicorn, openai).
pytest.importorskip("fastapi", reason="the real server needs transformers[serving] (fastapi, uvicorn, openai)")
pytest.importorskip("uvicorn", reason="the real server needs transformers[serving] (fastapi, uvicorn, openai)")

MESSAGES = [{"role": "system", "content": "You are an expert Python programmer."},
            {"role": "user", "content": "Fix this and reply with one ```python block:\ndef add(a, b):\n    return a - b"}]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _served_model_dir(tmp: Path) -> Path:
    """The converted embedded model, linked file by file, with server-side sampling defaults
    (`transformers serve` samples only if the model's generation config says do_sample)."""
    source = ensure_embedded_model_dir()
    served = tmp / "smollm2-served"
    served.mkdir()
    for item in source.iterdir():
        if item.name != "generation_config.json":
            (served / item.name).symlink_to(item)
    config = json.loads((source / "generation_config.json").read_text())
    (served / "generation_config.json").write_text(json.dumps({**config, "do_sample": True, "top_k": 0}))
    return served


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("server")
    model_dir = _served_model_dir(tmp)
    port = _free_port()
    log = open(tmp / "server.log", "w+")
    command = [shutil.which("transformers", path=str(Path(sys.executable).parent)) or "transformers", "serve",
               str(model_dir), "--host", "127.0.0.1", "--port", str(port), "--device", "cpu"]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
    deadline = time.monotonic() + 180
    while True:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2).read()
            break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                log.seek(0)
                raise RuntimeError(f"transformers serve did not start: {log.read()[-2000:]}")
            time.sleep(0.5)
    yield f"http://127.0.0.1:{port}/v1", str(model_dir)
    process.terminate()
    process.wait(timeout=30)
    log.close()


def test_sample_returns_k_generations_with_exact_totals(server):
    base_url, model = server
    policy = OpenAIPolicy(base_url=base_url, model=model)
    gens = policy.sample(MESSAGES, n=3, temperature=0.8, top_p=0.95, max_new_tokens=48, seed=0)
    assert len(gens) == 3
    assert all(g.finish_reason in ("stop", "length") for g in gens)
    assert all(g.prompt_tokens > 20 and 0 < g.completion_tokens <= 48 for g in gens)
    assert len({g.text for g in gens}) > 1  # follow-up requests use other seeds
    assert policy.stats.sequences == 3 and 1 <= policy.stats.calls <= 3  # n is ignored by this server
    assert policy.stats.generated_tokens == sum(g.completion_tokens for g in gens)
    assert policy.policy_id == f"openai:{model}"
    again = OpenAIPolicy(base_url=base_url, model=model).sample(MESSAGES, n=3, temperature=0.8, max_new_tokens=48, seed=0)
    assert [g.text for g in again] == [g.text for g in gens]  # seeded on the server
    greedy = [OpenAIPolicy(base_url=base_url, model=model).sample(MESSAGES, temperature=0.0, max_new_tokens=16)[0].text
              for _ in range(2)]
    assert greedy[0] == greedy[1]


def test_critic_scores_are_probabilities(server):
    base_url, model = server
    policy = OpenAIPolicy(base_url=base_url, model=model)
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
    assert [p_yes_from_answer(t) for t in ("Yes, it is", "NO", "")] == [1.0, 0.0, 0.5]
    assert p_yes_from_top_logprobs([{"token": " yes", "logprob": 0.0}, {"token": "x", "logprob": -1.0}]) == 1.0
    assert p_yes_from_top_logprobs([{"token": "Yes", "logprob": math.log(0.3)},
                                    {"token": " no", "logprob": math.log(0.1)}]) == pytest.approx(0.75)


def test_a_rounds_policy_is_served_under_its_folder_name(tmp_path):
    """scripts/serve_vllm.sh serves the base as "base" and models/round<r> (an adapter policy)
    as "round<r>"; `served_name` routes a stage's policy path to that name."""
    import json as _json

    from codeq_lib.policy.models import POLICY_RECORD
    from codeq_lib.policy.openai_backend import served_name

    round2 = tmp_path / "models" / "round2"
    round2.mkdir(parents=True)
    (round2 / POLICY_RECORD).write_text(_json.dumps({"base": "models/base"}))
    plain = tmp_path / "models" / "base"
    plain.mkdir()
    assert (served_name(str(round2)), served_name(str(plain))) == ("round2", "base")
