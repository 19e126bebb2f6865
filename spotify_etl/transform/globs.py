"""Glue's exclude-pattern glob syntax, as documented for crawler exclusions and the S3 ``exclusions`` option.

Rules (https://docs.aws.amazon.com/glue/latest/dg/crawler-data-stores.html#crawler-data-stores-exclude):
``*`` matches zero or more characters of a name component without crossing a folder boundary; ``**`` matches
zero or more characters crossing folder boundaries; ``?`` exactly one character of a name component; ``\\``
escapes the next character; ``[...]`` a bracket expression (``!`` first negates, ``-`` a range; ``*``, ``?``
and ``\\`` inside match themselves); ``{a,b}`` a group of sub-patterns (not nested). A leading dot is an
ordinary character. Patterns are matched against the key relative to the include path.

:func:`escape` makes a literal name a pattern that matches only that name, so object names are data, never
patterns (``[``, ``{``, ``*``, ``?`` and ``\\`` are legal in S3 keys).
"""

from __future__ import annotations

import re
from functools import lru_cache

_SPECIAL = set("\\*?[]{}")


class GlobError(ValueError):
    """A pattern that Glue would not accept (unbalanced bracket or brace, nested group)."""


def escape(literal: str) -> str:
    """A pattern that matches exactly ``literal``."""
    return "".join("\\" + ch if ch in _SPECIAL else ch for ch in literal)


@lru_cache(maxsize=512)
def _compile(pattern: str) -> re.Pattern[str]:
    out: list[str] = []
    i, in_group = 0, False
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\":
            if i + 1 >= len(pattern):
                raise GlobError(f"pattern {pattern!r} ends with an escape")
            out.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        if ch == "*":
            if pattern.startswith("**", i):
                out.append(".*")
                i += 2
            else:
                out.append("[^/]*")
                i += 1
            continue
        if ch == "?":
            out.append("[^/]")
        elif ch == "[":
            end = pattern.find("]", i + 2)
            if end < 0:
                raise GlobError(f"pattern {pattern!r} has an unclosed '['")
            body = pattern[i + 1 : end]
            negate = body.startswith("!")
            body = body[1:] if negate else body
            escaped = "".join("\\" + c if c in "\\^[]" else c for c in body)
            out.append(f"[{'^' if negate else ''}{escaped}]")
            i = end
        elif ch == "{":
            if in_group:
                raise GlobError(f"pattern {pattern!r} nests groups, which Glue does not allow")
            in_group = True
            out.append("(?:")
        elif ch == "}" and in_group:
            in_group = False
            out.append(")")
        elif ch == "," and in_group:
            out.append("|")
        else:
            out.append(re.escape(ch))
        i += 1
    if in_group:
        raise GlobError(f"pattern {pattern!r} has an unclosed '{{'")
    return re.compile("".join(out), re.DOTALL)


def matches(pattern: str, relative_key: str) -> bool:
    """Whether the key (relative to the include path, ``/``-separated) matches the whole pattern."""
    return _compile(pattern).fullmatch(relative_key) is not None


def excluded(patterns: tuple[str, ...] | list[str], relative_key: str) -> bool:
    return any(matches(p, relative_key) for p in patterns)
