"""Prompt-lookup drafts kept incrementally: `policy.decode.prompt_lookup`'s answer in O(1) per
token instead of a scan of the whole row at every step (at 64 rows of ~600 tokens the scans
were a large part of a step's Python time).

`DraftIndex` remembers, for every 1-, 2- and 3-gram, where its latest occurrence ended,
counting only occurrences that end before the row's last token (the tail itself is what is
looked up). The n rows of one prompt share the prompt's index (`PromptIndex`, built once);
each row keeps only what it generated, which is always later than anything in the prompt.
"""

from __future__ import annotations

LONGEST = 3  # as prompt_lookup: try the last 3 tokens, then 2, then 1


class PromptIndex:
    """Latest end (exclusive) of each n-gram of a prompt, over grams ending before its last token."""

    def __init__(self, prompt: list[int], longest: int = LONGEST):
        self.tokens = list(prompt)
        self.longest = longest
        self.ends: dict[tuple[int, ...], int] = {}
        for end in range(1, len(self.tokens)):
            _add_grams(self.ends, self.tokens, end, longest)


def _add_grams(ends: dict, tokens: list[int], end: int, longest: int) -> None:
    for size in range(1, min(longest, end) + 1):
        ends[tuple(tokens[end - size:end])] = end


class DraftIndex:
    """One row: its prompt's shared index plus the grams of its own tokens.

    >>> row = DraftIndex(PromptIndex([5, 6, 7, 8, 9, 1]))
    >>> for token in [6, 7]: row.append(token)
    >>> row.draft(2)  # "6 7" last followed by 8 9 in the prompt
    [8, 9]
    """

    def __init__(self, prompt: PromptIndex):
        self.prompt = prompt
        self.tokens = list(prompt.tokens)
        self.own: dict[tuple[int, ...], int] = {}

    def append(self, token: int) -> None:
        # the old tail becomes an earlier occurrence once a token follows it
        if len(self.tokens) > len(self.prompt.tokens) - 1:
            _add_grams(self.own, self.tokens, len(self.tokens), self.prompt.longest)
        self.tokens.append(token)

    def draft(self, limit: int) -> list[int]:
        if limit <= 0:
            return []
        tokens = self.tokens
        for size in range(min(self.prompt.longest, len(tokens) - 1), 0, -1):
            gram = tuple(tokens[-size:])
            end = self.own.get(gram)
            if end is None:
                end = self.prompt.ends.get(gram)
            if end is not None:
                return tokens[end:end + limit]
        return []
