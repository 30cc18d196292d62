"""codeq: a self-improving code-repair agent (tree search over LLM rewrites + DPO/GRPO)."""

__version__ = "0.1.0"
