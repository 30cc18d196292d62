"""bench/generation.py at a tiny budget: both sides generate the same tokens, the report
has the documented keys, and the bandwidth bound is the hand-computed value. No timing
is asserted."""

import json

import pytest
import torch
from script_support import load_script


@pytest.fixture(scope="module")
def bench():
    return load_script("bench/generation.py")


TINY_QWEN = dict(vocab_size=512, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                 num_attention_heads=4, num_key_value_heads=2, tie_word_embeddings=False)


def test_compare_generates_equal_token_counts(bench):
    model, input_ids, mask = bench.random_qwen(TINY_QWEN, "cpu", prompt_tokens=5, seed=0)
    report = bench.compare(model, input_ids, mask, k=3, max_new_tokens=4, seed=0, repeats=2)
    assert report["sequential"]["calls"] == 6 and report["batched"]["calls"] == 2
    assert report["sequential"]["tokens"] == report["batched"]["tokens"] == 2 * 3 * 4
    assert report["batched_over_sequential"] > 0


def test_random_qwen_is_bf16_and_untied(bench):
    model, input_ids, _ = bench.random_qwen(TINY_QWEN, "cpu", prompt_tokens=7, seed=0)
    assert model.dtype == torch.bfloat16 and input_ids.shape == (1, 7)
    total = sum(p.numel() for p in model.parameters()) * 2
    assert bench.decode_weight_bytes(model) == total - 512 * 32 * 2  # one embedding table not read whole


def test_qwen_7b_shape_has_7_6b_parameters(bench):
    """The config in the bench is Qwen2.5-Coder-7B's: 7.62e9 parameters (model card)."""
    s = bench.QWEN25_CODER_7B
    h, i, layers, kv = s["hidden_size"], s["intermediate_size"], s["num_hidden_layers"], s["num_key_value_heads"]
    head_dim = h // s["num_attention_heads"]
    attention = h * h * 2 + h * kv * head_dim * 2 + h + 2 * kv * head_dim  # q,o + k,v + biases on q,k,v
    per_layer = attention + 3 * h * i + 2 * h
    total = layers * per_layer + 2 * s["vocab_size"] * h + h
    assert total == pytest.approx(7.62e9, rel=0.01)


def test_bandwidth_bound_on_h100(bench):
    bound = bench.bandwidth_bound(weight_bytes=14_140_000_000, bandwidth=3.35e12, k=8)
    assert bound == {"bound_tokens_per_s_batch1": 236.9, "bound_tokens_per_s_batchK": 1895.3}


def test_cli_writes_json(bench, tmp_path, monkeypatch, capsys):
    from codeq_lib.policy.models import tiny_random_model_dir

    out = tmp_path / "generation.json"
    code = bench.main(["--model", str(tiny_random_model_dir()), "--device", "cpu", "--k", "2",
                       "--max-new-tokens", "3", "--repeats", "1", "--out", str(out)])
    assert code == 0
    report = json.loads(out.read_text())
    assert report == json.loads(capsys.readouterr().out)
    assert report["sequential"]["tokens"] == report["batched"]["tokens"] == 6
    assert report["model"] == "tiny-random-smollm2-seed0"


def test_decode_bench_runs_every_side_on_the_same_prompts(tmp_path, capsys):
    """bench/decode.py at a tiny size on the tiny random model: every side (the loop with
    drafts too) makes the same calls and counts its forward passes, ratios relative to generate
    fp32 (no timing asserted)."""
    from codeq_lib.policy.models import tiny_random_model_dir

    module = load_script("bench/decode.py")
    out = tmp_path / "decode.json"
    threads = torch.get_num_threads()
    try:
        code = module.main(["--model", str(tiny_random_model_dir()), "--k", "2", "--tasks", "2",
                            "--max-new-tokens", "4", "--repeats", "1", "--out", str(out)])
    finally:
        torch.set_num_threads(threads)
    assert code == 0
    report = json.loads(out.read_text())
    assert report == json.loads(capsys.readouterr().out)
    default = report["sides"]["loop_policy_default"]
    lookaheads = {f"loop_lookahead_{d}" for d in module.LOOKAHEADS if d != default["lookahead"]}
    maxes = {f"loop_lookahead_{default['lookahead']}_max_{m}" for m in module.LOOKAHEAD_MAXES if m != default["lookahead_max"]}
    assert set(report["sides"]) == ({"generate_fp32_sdpa", "generate_policy_dtype_eager", "loop_policy_default",
                                     "loop_policy_default_model_forward",
                                     "loop_policy_default_model_forward_eager_attention"} | lookaheads | maxes)
    assert default["attention"] == "codeq_grouped_eager" and default["lean_forward"]
    former = report["sides"]["loop_policy_default_model_forward_eager_attention"]
    assert former["attention"] == "eager" and not former["lean_forward"]
    # the same samples on the three forward paths (the tiny model is fp32: lean equals the model's forward)
    assert default["generated_tokens"] == report["sides"]["loop_policy_default_model_forward"]["generated_tokens"]
    assert all(side["calls"] == 2 and 0 < side["generated_tokens"] <= 2 * 2 * 4 for side in report["sides"].values())
    assert all(2 <= side["forward_passes"] <= 2 * 4 for side in report["sides"].values())  # prefill + steps, per call
    assert report["tokens_per_s_over_generate_fp32_sdpa"]["generate_fp32_sdpa"] == 1.0
