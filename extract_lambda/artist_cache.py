"""The artist cache: full artist objects fetched recently, with the time each was fetched.

One state object, ``artists.json.gz`` (:mod:`extract_lambda.state`):
``{"version": 1, "artists": {"<id>": {"fetched_at": "2026-11-22T03:00:05Z", "artist": {...}}}}``.

An entry younger than the window (``ARTIST_CACHE_DAYS``, default 7) is *fresh*: the artist is not fetched
again. An older entry is refetched when one of its tracks is seen, and still serves (with its older
``fetched_at``) if that fetch fails, so an observation never thins out. Entries older than
``KEEP_WINDOWS`` windows are dropped when the cache is saved. The clock is the run's clock (``now``), so a
simulated week ages the cache like a real one.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from extract_lambda.landing import format_extracted_at
from extract_lambda.logs import log_event
from extract_lambda.state import StateStore

CACHE_OBJECT = "artists.json.gz"
CACHE_VERSION = 1
DEFAULT_WINDOW_DAYS = 7.0
KEEP_WINDOWS = 4
logger = logging.getLogger("extract_lambda.artist_cache")


class CachedArtist(NamedTuple):
    artist: dict[str, Any]
    fetched_at: str  # ISO-8601 UTC with Z, to the second


def _parse(moment: str) -> datetime | None:
    try:
        return datetime.fromisoformat(moment.replace("Z", "+00:00"))
    except (AttributeError, ValueError):
        return None


class ArtistCache:
    """Thread-safe map of artist id -> :class:`CachedArtist`, loaded from and saved to a state store."""

    def __init__(self, entries: dict[str, CachedArtist], window: timedelta, now: datetime) -> None:
        self._entries = dict(entries)
        self.window = window
        self.now = now
        self.changed = False
        self._lock = threading.Lock()

    @classmethod
    def load(cls, store: StateStore | None, window: timedelta, now: datetime) -> ArtistCache:
        raw = store.read(CACHE_OBJECT) if store is not None else None
        entries: dict[str, CachedArtist] = {}
        if isinstance(raw, dict) and raw.get("version") == CACHE_VERSION:
            for artist_id, entry in (raw.get("artists") or {}).items():
                artist = entry.get("artist") if isinstance(entry, dict) else None
                fetched_at = entry.get("fetched_at") if isinstance(entry, dict) else None
                if isinstance(artist, dict) and isinstance(fetched_at, str) and _parse(fetched_at):
                    entries[artist_id] = CachedArtist(artist, fetched_at)
        elif raw is not None:
            log_event(logger, "artist_cache_ignored", logging.WARNING, reason="unknown version or shape")
        return cls(entries, window, now)

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def get(self, artist_id: str) -> CachedArtist | None:
        """The entry, fresh or not."""
        with self._lock:
            return self._entries.get(artist_id)

    def is_fresh(self, artist_id: str) -> bool:
        entry = self.get(artist_id)
        fetched = _parse(entry.fetched_at) if entry else None
        return fetched is not None and self.now - fetched < self.window

    def put(self, artist: dict[str, Any], fetched_at: datetime) -> None:
        with self._lock:
            self._entries[artist["id"]] = CachedArtist(artist, format_extracted_at(fetched_at))
            self.changed = True

    def save(self, store: StateStore | None) -> None:
        """Write the cache if anything was fetched, without entries older than ``KEEP_WINDOWS`` windows."""
        if store is None or not self.changed:
            return
        oldest = self.now - self.window * KEEP_WINDOWS
        with self._lock:
            kept = {
                artist_id: {"fetched_at": entry.fetched_at, "artist": entry.artist}
                for artist_id, entry in self._entries.items()
                if (fetched := _parse(entry.fetched_at)) is not None and fetched >= oldest
            }
        store.write(CACHE_OBJECT, {"version": CACHE_VERSION, "artists": kept})
