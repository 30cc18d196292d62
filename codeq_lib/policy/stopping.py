"""Stop a rewrite once its code block has closed.

The repair prompt asks for one full program in a ```python block; instruction-tuned models
then often add an explanation that nobody reads (the extractor keeps only the code). On a
CPU every token costs, so generation of a sequence ends at the fence that closes its first
code block. Rows of a batch stop independently (transformers' per-row stopping criteria);
the batch ends when every row has stopped or hit max_new_tokens.
"""

from __future__ import annotations

from transformers import StoppingCriteria

FENCE = "```"


def code_block_closed(text: str) -> bool:
    """True once `text` holds an opening and a closing fence.

    >>> code_block_closed("Here:\\n```python\\ndef f(): pass\\n```")
    True
    >>> code_block_closed("```python\\ndef f(): pass\\n")
    False
    """
    return text.count(FENCE) >= 2


class CodeBlockClosed(StoppingCriteria):
    def __init__(self, tokenizer, prompt_length: int):
        self.tokenizer = tokenizer
        self.prompt_length = prompt_length

    def __call__(self, input_ids, scores, **kwargs):
        import torch

        texts = self.tokenizer.batch_decode(input_ids[:, self.prompt_length:], skip_special_tokens=True)
        return torch.tensor([code_block_closed(t) for t in texts], device=input_ids.device)
