"""Small JSON state objects of the extractor in S3 next to the lake (locally: ``spotify_etl.local_extract``).

The extractor keeps two: the artist cache (``artists.json.gz``, :mod:`extract_lambda.enrichment`) and,
on Lambda, the progress of retried invocations (``retries.json``, :class:`InvocationProgress`). They live
under ``_state/extract/`` of the data bucket (locally ``LAKE/_state/extract/``): outside ``raw/`` (which the
transform job reads) and ``curated/`` (which the crawler catalogs).

A missing object reads as ``None``. An unreadable one (corrupt, not JSON) also reads as ``None`` with a
warning: state is an optimisation or a retry aid, never a reason to stop extracting.

**Retries extract only what failed**: the playlists settled by earlier attempts of the same event.

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
the later write wins: a retry may then fetch a playlist again, one more observation of the same day that the
merge rule reduces to the same rows.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import logging
import time
from collections.abc import Iterable, Mapping
from typing import Any, Protocol

from extract_lambda.logs import log_event

STATE_PREFIX = "_state/extract"
logger = logging.getLogger("extract_lambda.state")


class StateStore(Protocol):
    def read(self, name: str) -> Any: ...

    def write(self, name: str, value: Any) -> None: ...


def encode_state(name: str, value: Any) -> bytes:
    data = json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode("utf-8")
    return gzip.compress(data, mtime=0) if name.endswith(".gz") else data


def decode_state(name: str, data: bytes, where: str) -> Any:
    try:
        text = gzip.decompress(data) if name.endswith(".gz") else data
        return json.loads(text)
    except (OSError, ValueError, EOFError) as error:
        log_event(logger, "state_unreadable", logging.WARNING, object=where, error=type(error).__name__)
        return None


class S3StateStore:
    """``s3://<bucket>/<prefix>/<name>``.

    A missing key answers ``NoSuchKey`` only to a caller allowed ``s3:ListBucket``, otherwise 403
    AccessDenied (https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html, "Permissions"). The
    Lambda's role may not list the bucket (least privilege), so a 403 on read also means "no state yet";
    it is logged, and the run goes on as without state (the cache and retry progress only save work).
    """

    def __init__(self, s3_client: Any, bucket: str, prefix: str = STATE_PREFIX) -> None:
        self.s3 = s3_client
        self.bucket = bucket
        self.prefix = prefix.strip("/")

    def key(self, name: str) -> str:
        return f"{self.prefix}/{name}"

    def read(self, name: str) -> Any:
        try:
            answer = self.s3.get_object(Bucket=self.bucket, Key=self.key(name))
        except self.s3.exceptions.NoSuchKey:
            return None
        except self.s3.exceptions.ClientError as error:
            if error.response.get("Error", {}).get("Code") not in ("AccessDenied", "403"):
                raise
            log_event(logger, "state_absent_or_denied", object=f"s3://{self.bucket}/{self.key(name)}")
            return None
        return decode_state(name, answer["Body"].read(), f"s3://{self.bucket}/{self.key(name)}")

    def write(self, name: str, value: Any) -> None:
        content_type = "application/gzip" if name.endswith(".gz") else "application/json"
        self.s3.put_object(
            Bucket=self.bucket, Key=self.key(name), Body=encode_state(name, value), ContentType=content_type
        )


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
