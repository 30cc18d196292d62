"""The one base class of user errors (issue 17).

A `UserError` is bad input from the person running codeq (a task file, a flag, a model path),
not a bug in codeq: `codeq <command>` prints it as one line, `codeq <command>: <message>`,
and exits with status 2; anything else is a bug and keeps its traceback. Errors that know
where the fault is carry `path`, `line` and `field` and put them in the message as
`<file>:<line>: <field>: <what is wrong and what is allowed>` (STYLE.md rule 10).
It subclasses ValueError, so code that catches ValueError keeps working.
"""

from __future__ import annotations


class UserError(ValueError):
    """Bad input from the user; the CLI prints it as one line and exits 2."""


def located(path: object, line: int | None, field_name: str | None, message: str) -> str:
    """`<file>:<line>: <field>: <message>`, leaving out the parts that are not known.

    >>> located("my.jsonl", 1, "difficulty", "'unknown' is not one of ['easy']")
    "my.jsonl:1: difficulty: 'unknown' is not one of ['easy']"
    >>> located("my.jsonl", None, None, "file not found")
    'my.jsonl: file not found'
    """
    where = str(path) + (f":{line}" if line else "")
    return f"{where}: " + (f"{field_name}: " if field_name else "") + message
