"""Artist enrichment: the full object of every artist credited on a playlist's tracks, and the artist cache.

An artist fresh in the :class:`ArtistCache` is not fetched; the others are, each at most once per run
across playlists and worker threads (a worker that needs an artist another worker is fetching waits for it).
The batch ``GET /artists?ids=`` is tried first; its first 403, 404 or 410 (Development Mode apps lost it;
Spotify may remove it) switches the rest of the run to one ``GET /artists/{id}`` per artist, with the reason
logged.

The artist cache is one state object, ``artists.json.gz`` (:mod:`extract_lambda.state`):
``{"version": 1, "artists": {"<id>": {"fetched_at": "2026-11-22T03:00:05Z", "artist": {...}}}}``. An entry
younger than the window (``ARTIST_CACHE_DAYS``, default 7) is *fresh*: the artist is not fetched again. An
older entry is refetched when one of its tracks is seen, and still serves (with its older ``fetched_at``) if
that fetch fails, so an observation never thins out. Entries older than ``KEEP_WINDOWS`` windows are dropped
when the cache is saved. The clock is the run's clock (``now``), so a simulated week ages the cache like a
real one.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any, NamedTuple

import spotipy

from extract_lambda.client import ApiCaller, ExtractError
from extract_lambda.fetch import explain_http
from extract_lambda.landing import format_extracted_at
from extract_lambda.logs import log_event
from extract_lambda.state import StateStore

MAX_ARTIST_BATCH = 50
BATCH_GONE_STATUSES = (403, 404, 410)
logger = logging.getLogger("extract_lambda.enrichment")
CACHE_OBJECT = "artists.json.gz"
CACHE_VERSION = 1
DEFAULT_WINDOW_DAYS = 7.0
KEEP_WINDOWS = 4


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


class Enrichment(NamedTuple):
    artists: list[dict[str, Any]]  # full objects, in credit order of first appearance
    fetched_at: dict[str, str]  # artist id -> when its object was fetched (ISO-8601 UTC)
    missing: list[str]  # ids with no object at all (fetch failed and nothing cached)


def _entry_object(entry: Any) -> dict[str, Any] | None:
    """The track or episode of a playlist item: ``item`` (2026) or ``track`` (older); either may be null."""
    if not isinstance(entry, dict):
        return None
    obj = entry.get("item")
    if obj is None:
        obj = entry.get("track")
    return obj if isinstance(obj, dict) else None


def track_artist_ids(items: Iterable[Any]) -> list[str]:
    """Artist ids credited on the items' tracks, in order of first appearance (no episodes, no local files)."""
    seen: dict[str, None] = {}
    for entry in items:
        obj = _entry_object(entry)
        if obj is None or obj.get("type", "track") != "track" or obj.get("is_local"):
            continue
        for artist in obj.get("artists") or []:
            artist_id = artist.get("id") if isinstance(artist, dict) else None
            if artist_id:
                seen.setdefault(artist_id, None)
    return list(seen)


class ArtistEnricher:
    """Full artist objects from the cache, fetching the stale and unknown ones (thread-safe)."""

    def __init__(self, cache: ArtistCache, now: Callable[[], datetime]) -> None:
        self.cache = cache
        self.now = now
        self.batch_allowed = True
        self._batch_known = False  # True once a batch call answered (or was refused): no more probing
        self._probe_lock = threading.Lock()
        self.fetched = 0
        self.cache_hits = 0
        self._unavailable: set[str] = set()  # 404 (or absent from a batch answer) this run
        self._inflight: dict[str, threading.Event] = {}
        self._lock = threading.Lock()

    def artists_for(self, caller: ApiCaller, artist_ids: list[str]) -> Enrichment:
        with self._lock:
            mine = [
                a
                for a in artist_ids
                if a not in self._inflight and a not in self._unavailable and not self.cache.is_fresh(a)
            ]
            theirs = [self._inflight[a] for a in artist_ids if a in self._inflight]
            for artist_id in mine:
                self._inflight[artist_id] = threading.Event()
            self.cache_hits += len(artist_ids) - len(mine) - len(theirs)
        try:
            self._fetch(caller, mine)
        except ExtractError as error:
            log_event(
                logger, "artists_incomplete", logging.WARNING, reason=error.reason, message=error.message,
                not_fetched=len([a for a in mine if not self.cache.is_fresh(a)]),
            )  # fmt: skip
        finally:
            with self._lock:
                for artist_id in mine:
                    self._inflight.pop(artist_id).set()
        for event in theirs:
            event.wait(timeout=max(0.0, caller.deadline.left()))
        return self._collect(artist_ids)

    def _collect(self, artist_ids: list[str]) -> Enrichment:
        artists: list[dict[str, Any]] = []
        fetched_at: dict[str, str] = {}
        missing: list[str] = []
        for artist_id in artist_ids:
            entry = self.cache.get(artist_id)
            if entry is not None:
                artists.append(entry.artist)
                fetched_at[artist_id] = entry.fetched_at
            elif artist_id not in self._unavailable:
                missing.append(artist_id)
        return Enrichment(artists, fetched_at, missing)

    def _store(self, artist_id: str, obj: Any) -> None:
        if isinstance(obj, dict) and obj.get("id") == artist_id:
            self.cache.put(obj, self.now())
            with self._lock:
                self.fetched += 1
        else:
            with self._lock:
                self._unavailable.add(artist_id)

    def _fetch(self, caller: ApiCaller, new_ids: list[str]) -> None:
        for start in range(0, len(new_ids), MAX_ARTIST_BATCH):
            chunk = new_ids[start : start + MAX_ARTIST_BATCH]
            if self.batch_allowed and self._fetch_batch(caller, chunk):
                continue
            for artist_id in chunk:
                what = f"GET /artists/{artist_id}"
                try:
                    obj = caller.call(what, caller.client.artist, artist_id)
                except spotipy.SpotifyException as error:
                    if error.http_status in (400, 404):
                        self._store(artist_id, None)
                        continue
                    raise explain_http(error, what, None) from None
                self._store(artist_id, obj)

    def _fetch_batch(self, caller: ApiCaller, chunk: list[str]) -> bool:
        """Fetch ``chunk`` with the batch call; False when the endpoint is gone for this app (fallback).

        Until one batch call has answered, workers take turns: the first refusal switches the run to single
        artists before any other worker tries the batch call again.
        """
        if self._batch_known:
            return self.batch_allowed and self._call_batch(caller, chunk)
        with self._probe_lock:
            if not self.batch_allowed:
                return False
            answered = self._call_batch(caller, chunk)
            self._batch_known = True
            return answered

    def _call_batch(self, caller: ApiCaller, chunk: list[str]) -> bool:
        what = "GET /artists?ids="
        try:
            answer = caller.call(what, caller.client.artists, chunk)
        except spotipy.SpotifyException as error:
            if error.http_status not in BATCH_GONE_STATUSES:
                raise explain_http(error, what, None) from None
            self.batch_allowed = False
            log_event(
                logger, "artists_batch_unavailable", logging.INFO, http_status=error.http_status,
                reason={403: "forbidden for this app (Development Mode)", 404: "not found",
                        410: "gone (removed from the API)"}[error.http_status],
                fallback="GET /artists/{id}",
            )  # fmt: skip
            return False
        objs = (answer or {}).get("artists") or []
        by_id = {o["id"]: o for o in objs if isinstance(o, dict) and o.get("id")}
        for artist_id in chunk:
            self._store(artist_id, by_id.get(artist_id))
        return True
