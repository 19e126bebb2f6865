"""Move raw objects that Glue's reader cannot decode out of raw/ and into the quarantine, on an S3 lake.

The Glue job reads raw/ once per run with one ``transformation_ctx`` and, when that read fails, stops before any
write with the bookmark unmoved (:class:`spotify_etl.runtime.glue.RawReadError`). This is the documented way out
(docs/transform.md, "A raw object Glue cannot read"): ``spotify-etl quarantine-raw --lake s3://bucket --since
DATE`` probes the raw objects landed on ``ingest_date`` DATE up to today (never the whole history: one listing per
day), or exactly the URIs given, and moves each undecodable one:

- copied to ``quarantine/objects/<its key below raw/>`` with S3 user metadata ``reason`` and ``detail`` (the
  quarantine reasons of docs/transform.md: ``empty`` for 0 bytes or gzip of nothing but blanks, ``not_gzip`` for
  a wrong magic or a truncated or corrupt stream);
- then deleted from raw/ (the bucket is versioned: the deleted version stays recoverable for 90 days).

The next job run then reads the good objects (the bookmark did not move). A decodable object is never moved.
Memory per object: its compressed bytes plus one 1 MiB window of inflated output.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from spotify_etl.lake import LakeLayout
from spotify_etl.transform.raw_objects import RAW_SUFFIX, is_hidden

GZIP_MAGIC = b"\x1f\x8b"
MOVED_FOLDER = "objects"  # quarantine/objects/<key below raw/>
_WINDOW = 1024 * 1024
MAX_DAYS = 366  # --since at most a year back: one listing per day


class QuarantineError(RuntimeError):
    """The lake cannot be read or an argument names nothing; the message is one line."""


@dataclass(frozen=True)
class Verdict:
    """Why an object cannot be read: ``reason`` is one of docs/transform.md's quarantine reasons."""

    uri: str
    reason: str
    detail: str


def probe(data: bytes) -> tuple[str, str] | None:
    """``(reason, detail)`` when Glue's reader cannot give this ``.json.gz`` object's line, else None."""
    if not data:
        return "empty", "the object has 0 bytes"
    if data[:2] != GZIP_MAGIC:
        return "not_gzip", f"first bytes {data[:2].hex()} are not the gzip magic 1f8b (docs/design.md s.2)"
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    blank = True
    pending = data
    try:
        while pending and not inflater.eof:
            chunk = inflater.decompress(pending, _WINDOW)
            blank = blank and not chunk.strip()
            pending = inflater.unconsumed_tail
        if not inflater.eof:
            return "not_gzip", "gzip stream is truncated (it ends before its end-of-stream marker)"
    except zlib.error as error:
        return "not_gzip", f"gzip stream is corrupt ({error})"
    return ("empty", "the gzip stream holds no line") if blank else None


@dataclass
class S3Lake:
    """The raw and quarantine zones of ``s3://bucket[/prefix]`` through one boto3 S3 client."""

    lake: str
    client: Any

    def __post_init__(self) -> None:
        bucket = self.lake.removeprefix("s3://").partition("/")[0]
        if not self.lake.startswith("s3://") or not bucket:
            raise QuarantineError(f"{self.lake!r} is not s3://bucket[/prefix]")
        self.bucket = bucket
        self.layout = LakeLayout.from_lake(self.lake)

    def key(self, uri: str) -> str:
        return uri.removeprefix(f"s3://{self.bucket}/")

    def uri(self, key: str) -> str:
        return f"s3://{self.bucket}/{key}"

    def raw_keys_of_day(self, day: date) -> Iterator[str]:
        prefix = f"{self.key(self.layout.raw_objects)}/ingest_date={day.isoformat()}/"
        for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix):
            for item in page.get("Contents", []):
                relative = item["Key"].removeprefix(self.key(self.layout.raw_objects) + "/")
                if item["Key"].endswith(RAW_SUFFIX) and not is_hidden(relative):
                    yield item["Key"]

    def read(self, key: str) -> bytes:
        body: bytes = self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        return body

    def moved_key(self, raw_key: str) -> str:
        relative = raw_key.removeprefix(self.key(self.layout.raw) + "/")
        return f"{self.key(self.layout.quarantine)}/{MOVED_FOLDER}/{relative}"

    def move(self, verdict: Verdict) -> str:
        """Copy to the quarantine with the reason as metadata, then delete from raw/; the new URI."""
        source = self.key(verdict.uri)
        target = self.moved_key(source)
        self.client.copy_object(
            Bucket=self.bucket,
            Key=target,
            CopySource={"Bucket": self.bucket, "Key": source},
            Metadata={"reason": verdict.reason, "detail": verdict.detail},
            MetadataDirective="REPLACE",
        )
        self.client.delete_object(Bucket=self.bucket, Key=source)
        return self.uri(target)


def days_since(since: date, today: date) -> list[date]:
    if since > today:
        raise QuarantineError(f"--since {since} is after today ({today})")
    if (today - since).days >= MAX_DAYS:
        raise QuarantineError(f"--since {since} is more than {MAX_DAYS} days back: name the objects instead")
    return [since + timedelta(days=n) for n in range((today - since).days + 1)]


def find_undecodable(lake: S3Lake, keys: Sequence[str]) -> list[Verdict]:
    verdicts = []
    for key in keys:
        found = probe(lake.read(key))
        if found is not None:
            verdicts.append(Verdict(lake.uri(key), *found))
    return verdicts


def candidate_keys(lake: S3Lake, uris: Sequence[str], since: date | None, today: date) -> list[str]:
    """The keys to probe: the URIs given (each must lie under raw/), else every raw object of the days."""
    if uris:
        raw_prefix = lake.layout.raw_objects + "/"
        outside = [uri for uri in uris if not uri.startswith(raw_prefix)]
        if outside:
            raise QuarantineError(f"{outside[0]} is not a raw object of {lake.lake} (under {raw_prefix})")
        return [lake.key(uri) for uri in uris]
    if since is None:
        raise QuarantineError("give --since DATE or the URIs of the objects")
    return [key for day in days_since(since, today) for key in lake.raw_keys_of_day(day)]
