"""The raw landing contract (docs/design.md s.2): the envelope, its deterministic key, atomic writes.

Key: ``playlists/ingest_date=YYYY-MM-DD/playlist_id=<id>/<YYYYMMDDTHHMMSSZ>-<12 hex of sha256(snapshot_id)>.json.gz``
under the raw root (S3 here: :class:`S3Lander`; a local lake: ``spotify_etl.local_extract.LocalLander``).
Content: gzip of exactly one line of JSON. A raw object is never rewritten: a second observation at the same
instant of the same snapshot has the same key, and landing it again is a no-op that reports
``already_exists``.
"""

from __future__ import annotations

import gzip
import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

SCHEMA_VERSION = 1
SPOTIFY_API_BASE_URL = "https://api.spotify.com/v1/"


def format_extracted_at(moment: datetime) -> str:
    """ISO-8601 UTC with a ``Z``, to the second: ``2026-11-22T03:00:05Z``."""
    if moment.tzinfo is None:
        raise ValueError("extracted_at must be timezone-aware (UTC)")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def raw_key(playlist_id: str, extracted_at: datetime, snapshot_id: str | None) -> str:
    """The object key of one observation, relative to the raw root."""
    if not playlist_id or "/" in playlist_id:
        raise ValueError(f"invalid playlist id {playlist_id!r}")
    moment = extracted_at.astimezone(UTC)
    digest = hashlib.sha256((snapshot_id or "").encode("utf-8")).hexdigest()[:12]
    return (
        f"playlists/ingest_date={moment:%Y-%m-%d}/playlist_id={playlist_id}/"
        f"{moment:%Y%m%dT%H%M%SZ}-{digest}.json.gz"
    )


def build_envelope(
    *,
    playlist: dict[str, Any],
    items: list[dict[str, Any]],
    artists: list[dict[str, Any]],
    extracted_at: datetime,
    artists_fetched_at: dict[str, str] | None = None,
    market: str | None,
    auth_flow: str,
    base_url: str = SPOTIFY_API_BASE_URL,
) -> dict[str, Any]:
    """The envelope of docs/design.md s.2; the playlist's embedded items paging (``items``/``tracks``) is dropped.

    ``artists_fetched_at`` maps each artist id of ``artists`` to when its object was fetched (it may come
    from the artist cache, fetched on an earlier run).
    """
    playlist_only = {k: v for k, v in playlist.items() if k not in ("items", "tracks")}
    return {
        "schema_version": SCHEMA_VERSION,
        "extracted_at": format_extracted_at(extracted_at),
        "market": market,
        "api": {"base_url": base_url, "auth_flow": auth_flow},
        "playlist": playlist_only,
        "items": items,
        "artists": artists,
        "artists_fetched_at": dict(artists_fetched_at or {}),
    }


def encode_envelope(envelope: dict[str, Any]) -> bytes:
    """gzip of exactly one JSON line. mtime=0 keeps the bytes a function of the envelope.

    Level 6 (zlib's default): a third less CPU than gzip's 9 for about 2% more bytes on envelopes.
    """
    line = json.dumps(envelope, ensure_ascii=False, separators=(",", ":")) + "\n"
    return gzip.compress(line.encode("utf-8"), compresslevel=6, mtime=0)


@dataclass(frozen=True)
class LandResult:
    uri: str
    key: str
    created: bool  # False when the object already existed (never overwritten)
    size: int


class Lander(Protocol):
    def land(self, key: str, body: bytes) -> LandResult: ...


class S3Lander:
    """Lands in S3 with a conditional PUT (``If-None-Match: *``): an existing object is never overwritten."""

    def __init__(self, s3_client: Any, bucket: str, prefix: str) -> None:
        self.s3 = s3_client
        self.bucket = bucket
        self.prefix = prefix.strip("/")

    def land(self, key: str, body: bytes) -> LandResult:
        full_key = f"{self.prefix}/{key}" if self.prefix else key
        uri = f"s3://{self.bucket}/{full_key}"
        try:
            self.s3.put_object(
                Bucket=self.bucket,
                Key=full_key,
                Body=body,
                # No Content-Encoding: readers must see the gzip bytes that the .gz name promises.
                ContentType="application/gzip",
                IfNoneMatch="*",
            )
        except self.s3.exceptions.ClientError as error:
            code = error.response.get("Error", {}).get("Code")
            if code in ("PreconditionFailed", "ConditionalRequestConflict"):
                return LandResult(uri, full_key, False, len(body))
            raise
        return LandResult(uri, full_key, True, len(body))
