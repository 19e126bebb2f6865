"""The quarantine reasons, one entry each: the one list of why a raw object is rejected.

A reason is recorded in ``quarantine/rejected/`` with a detail (docs/design.md s.3). This list gives, per
reason, who finds it, when it applies and what its detail says, in the order the checks run (the first that
applies is recorded). The table of docs/transform.md is rendered from it and the validation's reason set is
taken from it; ``tests/unit/transform/test_reasons.py`` checks the docs table, and ``tests/unit/transform/test_validate.py`` that
the validation records exactly these reasons with details of these forms. Adding a reason is one entry here
plus the check that finds it (CONTRIBUTING.md).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

FoundBy = Literal["reader", "validation", "quality", "write"]


@dataclass(frozen=True)
class QuarantineReason:
    """One reason an object is quarantined.

    Attributes:
        name: the ``reason`` column's value.
        found_by: ``reader`` (the runtime, which sees the object's name and bytes: ``raw_objects.py`` and the
            runtimes), ``validation`` (``validate.py``, on the parsed text) or ``write`` (``isolate.py``).
        when: when it applies, as docs/transform.md says it (Markdown).
        details: the forms of its detail, ``<...>`` standing for the variable part.
    """

    name: str
    found_by: FoundBy
    when: str
    details: tuple[str, ...]

    def matches(self, detail: str) -> bool:
        """Whether ``detail`` has one of this reason's forms."""
        return any(_pattern(form).fullmatch(detail) for form in self.details)


def _pattern(form: str) -> re.Pattern[str]:
    parts = re.split(r"<[^>]+>", form)
    return re.compile(".+".join(re.escape(part) for part in parts), re.DOTALL)


REASONS: tuple[QuarantineReason, ...] = (
    QuarantineReason(
        "not_gzip",
        "reader",
        "the bytes are not gzip (the detail gives the first bytes), the gzip stream is truncated or corrupt, "
        "or the name does not end in `.json.gz`",
        (
            "first bytes <hex> are not the gzip magic 1f8b; raw objects are gzip (docs/design.md s.2)",
            "gzip stream is truncated or corrupt, or holds no line",
            "object name does not end in .json.gz: raw objects are gzip JSON Lines (docs/design.md s.2)",
        ),
    ),
    QuarantineReason(
        "unreadable",
        "reader",
        "locally: a symbolic link whose target is missing (the detail names the target)",
        ("dangling symbolic link to <target>",),
    ),
    QuarantineReason(
        "empty",
        "validation",
        "0 bytes, or only blank lines",
        ("the object has 0 bytes", "the object holds no JSON line"),
    ),
    QuarantineReason(
        "multiple_records",
        "validation",
        "more than one non-blank line (an object is exactly one JSON line)",
        ("<n> non-blank lines; a raw object holds exactly one JSON line (docs/design.md s.2)",),
    ),
    QuarantineReason(
        "not_utf8",
        "validation",
        "the text holds U+FFFD: Spark's text reader (and Glue's) decodes bytes that are not UTF-8 to it, so a "
        "name would otherwise change silently (the detail names the key whose value holds it)",
        (
            "the value of key <key> holds bytes that are not UTF-8 (read as U+FFFD)",
            "the text holds bytes that are not UTF-8 (read as U+FFFD) at character <n>",
        ),
    ),
    QuarantineReason("not_json", "validation", "the line is not JSON", ("not valid JSON: <text>",)),
    QuarantineReason(
        "not_an_object",
        "validation",
        "valid JSON that is not an object",
        ("JSON value is not an object: <text>",),
    ),
    QuarantineReason(
        "unsupported_schema_version",
        "validation",
        "`schema_version` missing or not one this job reads (1)",
        ("schema_version=<value>; this job reads schema_version <versions>",),
    ),
    QuarantineReason(
        "missing_playlist_id",
        "validation",
        "no `playlist.id`",
        ("playlist.id is missing or empty",),
    ),
    QuarantineReason(
        "too_large",
        "validation",
        "the object is more than 64 MiB of gzip (from the listing, never opened), or inflates to more than "
        "64 MiB (decompression stops there: a gzip bomb is never inflated), both checked by the runtime before "
        "the read; or its JSON text is longer than `MAX_RECORD_CHARS` (the same 64 Mi, in the parse). The "
        'detail gives the figure and the limit (docs/design.md s.2 "Bounds")',
        (
            "the JSON text is <n> characters; the transform parses objects of at most <limit>",
            "the object is <n> bytes of gzip; the transform reads objects of at most <limit> bytes "
            "(docs/design.md s.2)",
            "the object inflates to more than <limit> bytes (stopped reading there; <n> bytes of gzip); the "
            "transform reads objects of at most <limit> bytes inflated (docs/design.md s.2)",
        ),
    ),
    QuarantineReason(
        "too_deep",
        "reader",
        "the JSON nests deeper than 64 levels (an envelope is about 7); found while decompressing, before "
        "Spark reads the object",
        (
            "JSON nesting deeper than <limit> levels (reached <depth> within the first <n> bytes); a Spotify "
            "envelope is about 7 deep (docs/design.md s.2)",
        ),
    ),
    QuarantineReason(
        "bad_extracted_at",
        "validation",
        "`extracted_at` missing or not ISO-8601 UTC with `Z`",
        ("extracted_at=<value>; expected ISO-8601 UTC like 2026-11-22T03:00:05Z",),
    ),
    QuarantineReason(
        "implausible_extracted_at",
        "validation",
        "`extracted_at` before 2008-10-07 (Spotify's launch) or after the run's clock + 1 hour (the detail "
        "gives the range)",
        ("extracted_at=<value>; a plausible extraction time is from <earliest> <to the latest>",),
    ),
    QuarantineReason(
        "items_not_array",
        "validation",
        "`items` missing or not an array",
        ("items is <value>; expected an array of playlist items",),
    ),
    QuarantineReason(
        "too_many_items",
        "validation",
        "more than 10,000 items: Spotify's limit of one playlist, so not one consistent fetch (the detail "
        "gives the count)",
        ("the observation has <n> items; a Spotify playlist holds at most 10,000",),
    ),
    QuarantineReason(
        "bad_artists_fetched_at",
        "validation",
        "an `artists_fetched_at` value is not ISO-8601 UTC with `Z`",
        ("artists_fetched_at holds <value>; expected artist id -> ISO-8601 UTC like 2026-11-22T03:00:05Z",),
    ),
    QuarantineReason(
        "bad_added_at",
        "validation",
        'an item\'s `added_at` is not null and not a time (`"yesterday"`): the table would hold null for it '
        "(the detail names the item)",
        ("items[<i>].added_at=<text>; expected an ISO-8601 time like 2026-11-22T03:00:05Z",),
    ),
    QuarantineReason(
        "schema_mismatch",
        "validation",
        "a nested field has a JSON type the envelope schema does not allow: a number as text, a float "
        '`duration_ms`, `"yes"` for a boolean, an object where an array belongs, a name sent as an object or '
        "array (the detail names the key, what it holds and what the schema expects)",
        (
            "a <key> field holds a JSON object or array; the envelope schema expects a string",
            'key "<key>" holds <value>; the envelope schema expects <kind>',
            "a field has a JSON type the envelope schema does not allow",
        ),
    ),
    QuarantineReason(
        "quality",
        "quality",
        "staged rows built from the object break a row-level ERROR rule of `quality/` (`IsComplete`, "
        "`ColumnValues` without a threshold, or `ReferentialIntegrity`): the batch is staged again without "
        "it and the rest lands (the detail names the first rule broken, its file and line, and how many "
        "more; docs/transform.md, 'The gate')",
        ("rows of <table> break the ERROR rule quality/<table>.dqdl:<line>: <rule>",),
    ),
    QuarantineReason(
        "unwritable",
        "write",
        "writing the curated tables failed on this object's data alone (found by bisecting the batch; the "
        "detail is the error's first line; the summary prints one line per such object). Never for an "
        "environment fault: a full disk, a read-only lake, a permission, S3 throttling or the network stop the "
        "run instead (exit 4, nothing quarantined, bookmark unmoved; docs/design.md I7)",
        ("writing the curated tables failed on this object: <error>",),
    ),
)

REASON_NAMES: tuple[str, ...] = tuple(reason.name for reason in REASONS)
VALIDATION_REASONS: tuple[str, ...] = tuple(r.name for r in REASONS if r.found_by == "validation")
_BY_NAME = {reason.name: reason for reason in REASONS}


def quarantine_reason(name: str) -> QuarantineReason:
    """The entry of reason ``name``.

    Raises:
        KeyError: no such reason.
    """
    if name not in _BY_NAME:
        raise KeyError(f"unknown quarantine reason {name!r}; expected one of {', '.join(REASON_NAMES)}")
    return _BY_NAME[name]


def docs_table() -> str:
    """The reasons table of docs/transform.md, as Markdown."""
    rows = [f"| `{r.name}` | {r.when} | {' or '.join(_code(form) for form in r.details)} |" for r in REASONS]
    return "\n".join(["| reason | when | detail |", "|---|---|---|", *rows]) + "\n"


def _code(form: str) -> str:
    return "`" + form.replace("`", "") + "`"
