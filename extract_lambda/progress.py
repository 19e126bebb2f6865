"""Retries extract only what failed: the playlists settled by earlier attempts of the same event.

When the handler fails (a retryable failure), Lambda retries the asynchronous invocation with the same
event ("If the function returns an error, by default Lambda attempts to run it two more times":
https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-error-handling.html; the number is the
EventInvokeConfig's MaximumRetryAttempts:
https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-configuring.html). This module records, per
event, which playlists are settled (landed, or failed for good), so that the retry skips them.

The event key is the EventBridge event's ``id`` (unique per scheduled event, and part of the payload that
is retried) or, for an event without one, the invocation's request id. Records older than
``KEEP_SECONDS`` (6 hours, the longest an event can wait in Lambda's asynchronous queue) are dropped.
One object holds them all. With the template's ``ExtractReservedConcurrency=1`` invocations never write it at
the same time; without (the default, docs/deploy.md "Account preconditions") two overlapping invocations may, and
the later write wins: a retry may then fetch a playlist again, which lands the same content-addressed object.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterable, Mapping
from typing import Any

from extract_lambda.state import StateStore

PROGRESS_OBJECT = "retries.json"
KEEP_SECONDS = 6 * 3600


def event_key(event: Any, request_id: str | None) -> str:
    """The key of an event across its retries."""
    if isinstance(event, Mapping) and isinstance(event.get("id"), str) and event.get("source"):
        return f"event:{event['id']}"
    if request_id:
        return f"request:{request_id}"
    digest = hashlib.sha256(json.dumps(event, sort_keys=True, default=str).encode()).hexdigest()[:16]
    return f"payload:{digest}"


class InvocationProgress:
    """The settled playlists of one event, read at the start of an attempt and written at its end."""

    def __init__(self, store: StateStore, key: str, clock: Any = time.time) -> None:
        self.store = store
        self.key = key
        self.clock = clock
        raw = store.read(PROGRESS_OBJECT)
        self._events: dict[str, Any] = raw if isinstance(raw, dict) else {}

    @property
    def settled(self) -> dict[str, str]:
        """playlist id -> outcome of an earlier attempt (``landed``, ``already_present``, ``failed:<reason>``)."""
        entry = self._events.get(self.key) or {}
        settled = entry.get("settled") if isinstance(entry, dict) else None
        return dict(settled) if isinstance(settled, dict) else {}

    def save(self, newly_settled: Iterable[tuple[str, str]]) -> None:
        now = self.clock()
        events = {
            key: entry
            for key, entry in self._events.items()
            if isinstance(entry, dict) and now - float(entry.get("at", 0)) < KEEP_SECONDS
        }
        events[self.key] = {"at": now, "settled": {**self.settled, **dict(newly_settled)}}
        self.store.write(PROGRESS_OBJECT, events)
        self._events = events
