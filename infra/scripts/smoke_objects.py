"""The raw objects ``make smoke`` lands: each one a case that only the real Glue path can decide.

All of them carry ``extracted_at`` on :data:`SMOKE_DAY` (2009-01-01: after Spotify's launch, so plausible, and
a day no real extract lands), under ``raw/playlists/ingest_date=2009-01-01/``: their rows fall in partitions
that hold nothing else, which the smoke removes afterwards. Playlist ids are 22 base-62 characters like real ones,
and begin with ``Smoke`` and the run's tag, so two smoke runs never share a key.
"""

from __future__ import annotations

import gzip
import hashlib
import json
from dataclasses import dataclass
from typing import Any

SMOKE_DAY = "2009-01-01"
EXTRACTED_AT = f"{SMOKE_DAY}T03:00:05Z"
BIG_PLAYLIST_ITEMS = 10_000
ODD_NAME = "odd [1] {a,b} $HOME %41 name"  # glob characters, a dollar, a percent escape and spaces


@dataclass(frozen=True)
class Crafted:
    """One landed object and what the pipeline must make of it.

    Attributes:
        case: a short name for the report.
        key: the object's key in the data bucket.
        body: its bytes.
        items: for a good object, the playlist_items rows it must give (its playlist id is ``playlist_id``).
        reason: for a bad one, the quarantine reason expected.
        glue_unreadable: a bad object Glue's reader cannot decode: refused at the bucket for every writer but the
            extract (which lands only validated gzip), and moved by ``spotify-etl quarantine-raw`` when it is
            there anyway (docs/transform.md).
    """

    case: str
    key: str
    body: bytes
    playlist_id: str | None = None
    items: int = 0
    reason: str | None = None
    glue_unreadable: bool = False


def _id(tag: str, label: str) -> str:
    """A 22-character base-62 id unique to the run and the label."""
    digest = hashlib.sha256(f"{tag}/{label}".encode()).hexdigest()
    return ("Smoke" + "".join(ch for ch in tag + label if ch.isalnum()) + digest)[:22]


def _track(tag: str, n: int) -> dict[str, Any]:
    track_id = _id(tag, f"t{n}")
    artist = {"id": _id(tag, "artist"), "name": "Smoke Artist", "type": "artist", "uri": "spotify:artist:x"}
    return {
        "id": track_id,
        "name": f"Smoke track {n}",
        "type": "track",
        "uri": f"spotify:track:{track_id}",
        "duration_ms": 180000,
        "explicit": False,
        "disc_number": 1,
        "track_number": 1 + n % 20,
        "external_ids": {"isrc": "XX0000000000"},
        "artists": [artist],
        "album": {
            "id": _id(tag, "album"),
            "name": "Smoke Album",
            "album_type": "album",
            "release_date": "2008-12-01",
            "release_date_precision": "day",
            "total_tracks": 20,
            "images": [],
            "artists": [artist],
        },
    }


def envelope(tag: str, label: str, items: int, name: str) -> dict[str, Any]:
    playlist_id = _id(tag, label)
    return {
        "schema_version": 1,
        "extracted_at": EXTRACTED_AT,
        "market": "US",
        "api": {"base_url": "https://api.spotify.com/v1/", "auth_flow": "client_credentials"},
        "playlist": {
            "id": playlist_id,
            "name": name,
            "snapshot_id": f"smoke-{tag}-{label}",
            "description": "make smoke",
            "owner": {"id": "smoke", "display_name": "make smoke"},
            "public": False,
            "collaborative": False,
        },
        "items": [
            {"added_at": EXTRACTED_AT, "added_by": {"id": "smoke"}, "is_local": False, "item": _track(tag, n)}
            for n in range(items)
        ],
        "artists": [],
        "artists_fetched_at": {},
    }


def _key(raw_prefix: str, playlist_id: str, name: str) -> str:
    return f"{raw_prefix}/playlists/ingest_date={SMOKE_DAY}/playlist_id={playlist_id}/{name}.json.gz"


def crafted_objects(tag: str, raw_prefix: str = "raw") -> list[Crafted]:
    """The objects of one smoke run: three good ones, one the transform quarantines, two Glue cannot read."""
    good = [("normal", 3, "Smoke normal", "20090101T030005Z-normal"),
            ("big", BIG_PLAYLIST_ITEMS, "Smoke 10,000 items", "20090101T030005Z-big"),
            ("odd-name", 2, "Smoke [odd] {name} $ %", f"20090101T030005Z-{ODD_NAME}")]  # fmt: skip
    objects = []
    for label, items, title, name in good:
        env = envelope(tag, label, items, title)
        line = json.dumps(env, separators=(",", ":")) + "\n"  # one JSON line, 10,000 items included
        pid = env["playlist"]["id"]
        objects.append(
            Crafted(label, _key(raw_prefix, pid, name), gzip.compress(line.encode(), mtime=0), pid, items)
        )
    folder = _id(tag, "bad")
    objects += [
        Crafted("not-json", _key(raw_prefix, folder, "not-json"), gzip.compress(b"this is not JSON\n", mtime=0),
                reason="not_json"),
        Crafted("zero-bytes", _key(raw_prefix, folder, "zero-bytes"), b"", reason="empty", glue_unreadable=True),
        Crafted("truncated-gzip", _key(raw_prefix, folder, "truncated"),
                gzip.compress(b'{"schema_version": 1}\n' * 200, mtime=0)[:25], reason="not_gzip", glue_unreadable=True),
    ]  # fmt: skip
    return objects
