"""Text that every store can keep: no lone UTF-16 surrogates (not encodable as UTF-8) and no NUL
(PostgreSQL text cannot hold it). The API and the import rows refuse such text up front.

>>> bad_text({"rows": [{"prompt": "ok"}, {"prompt": "x\\ud800"}]})
('rows.1.prompt', 'contains a lone surrogate (U+D800), which is not valid Unicode text')
>>> bad_text({"a": "x\\x00"})
('a', 'contains a NUL character (U+0000), which the store cannot keep')
>>> bad_text(["fine", {"k": [1, 2.5, None, True]}]) is None
True
"""

from __future__ import annotations

import re
from typing import Any

_BAD = re.compile("[\x00\ud800-\udfff]")


def text_problem(value: str) -> str | None:
    """What is wrong with one string, or None."""
    found = _BAD.search(value)
    if found is None:
        return None
    char = found.group()
    if char == "\x00":
        return "contains a NUL character (U+0000), which the store cannot keep"
    return f"contains a lone surrogate (U+{ord(char):04X}), which is not valid Unicode text"


def bad_text(value: Any, path: str = "") -> tuple[str, str] | None:
    """The first (dotted path, problem) of a string in a JSON-like value that cannot be stored."""
    if isinstance(value, str):
        problem = text_problem(value)
        return (path, problem) if problem else None
    if isinstance(value, dict):
        items = value.items()
    elif isinstance(value, list | tuple):
        items = enumerate(value)
    else:
        return None
    for key, item in items:
        where = f"{path}.{key}" if path else str(key)
        if isinstance(key, str) and (problem := text_problem(key)):
            return where, f"key {problem}"
        found = bad_text(item, where)
        if found:
            return found
    return None
