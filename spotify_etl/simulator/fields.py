"""The ``fields`` filter of Get Playlist and Get Playlist Items, as Spotify's OpenAPI description has it.

"A comma-separated list of the fields to return. If omitted, all fields are returned. ... A dot separator
can be used to specify non-reoccurring fields, while parentheses can be used to specify reoccurring fields
within objects ... Use multiple parentheses to drill down into nested objects ... Fields can be excluded by
prefixing them with an exclamation mark" (``spotify-web-api-openapi.yml``, parameter ``fields``).

So ``fields=description,uri`` keeps two keys; ``items(added_at,added_by.id)`` keeps, in every element of
``items``, ``added_at`` and the ``id`` of ``added_by``; ``album(!name,href)`` keeps ``href`` and drops
``name``. A filter applied to an array applies to each element.
"""

from __future__ import annotations

from typing import Any

# name -> (excluded, sub-filter or None for the whole value)
Filter = dict[str, tuple[bool, "Filter | None"]]


class FieldsSyntaxError(ValueError):
    """The ``fields`` value does not parse."""


def parse_fields(text: str) -> Filter:
    """Parse a ``fields`` value into a filter tree."""
    tree, end = _parse_list(text, 0)
    if end != len(text):
        raise FieldsSyntaxError(f"unexpected {text[end]!r} at {end} in fields={text!r}")
    return tree


def _parse_list(text: str, at: int) -> tuple[Filter, int]:
    tree: Filter = {}
    while True:
        name, excluded, sub, at = _parse_term(text, at)
        tree[name] = (excluded, sub)
        if at < len(text) and text[at] == ",":
            at += 1
            continue
        return tree, at


def _parse_term(text: str, at: int) -> tuple[str, bool, Filter | None, int]:
    excluded = at < len(text) and text[at] == "!"
    at += excluded
    start = at
    while at < len(text) and text[at] not in ",.()!":
        at += 1
    name = text[start:at].strip()
    if not name:
        raise FieldsSyntaxError(f"a field name is missing at {start} in fields={text!r}")
    sub: Filter | None = None
    if at < len(text) and text[at] == ".":
        child, child_excluded, child_sub, at = _parse_term(text, at + 1)
        sub = {child: (child_excluded, child_sub)}
    elif at < len(text) and text[at] == "(":
        sub, at = _parse_list(text, at + 1)
        if at >= len(text) or text[at] != ")":
            raise FieldsSyntaxError(f"unclosed '(' in fields={text!r}")
        at += 1
    return name, excluded, sub, at


def filter_value(value: Any, tree: Filter) -> Any:
    """``value`` reduced to the fields of ``tree`` (arrays: element by element)."""
    if isinstance(value, list):
        return [filter_value(v, tree) for v in value]
    if not isinstance(value, dict):
        return value
    included = {name: sub for name, (excluded, sub) in tree.items() if not excluded}
    dropped = {name for name, (excluded, _) in tree.items() if excluded}
    keep = included.keys() if included else value.keys() - dropped
    result: dict[str, Any] = {}
    for key, v in value.items():
        if key in keep and key not in dropped:
            sub = included.get(key)
            result[key] = filter_value(v, sub) if sub else v
    return result


def apply_fields(value: Any, fields: str) -> Any:
    return filter_value(value, parse_fields(fields))
