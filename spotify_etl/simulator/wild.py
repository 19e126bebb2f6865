"""The wild world: what real playlists hold, served by the same simulator (``--world wild``).

Besides the four chart playlists of :class:`ChartWorld` (playlist 0 with its local file, episode and
unavailable item), it has:

- **a playlist of 10,000 items**, Spotify's maximum playlist size, paged like the real API (``limit`` at
  most 50, so 200 pages);
- **a "wild names" playlist** whose tracks, albums, artists and the playlist itself carry names real
  catalogs have: ``$`` (A$AP Rocky, Ke$ha, $uicideboy$), ``[ ] { } % \\ * ?``, markup, emoji,
  right-to-left text, very long text; albums released in ``1200`` (year precision) and on ``1200-05-01``
  (before the Gregorian calendar: Parquet's datetime rebase territory) and in ``1899-12``; plus a local
  file, an episode and an unavailable (null) item.

Every name appears on every day (the wild playlist does not change), so a test can check that each one
reached the tables. The world stays a pure function of ``(seed, start)`` and the day.
"""

from __future__ import annotations

import threading
from datetime import date
from typing import Any

from spotify_etl.simulator.api_objects import (
    API,
    OPEN,
    added_by_object,
    album_object,
    playlist_item,
    simplified_artist,
    spotify_id,
)
from spotify_etl.simulator.world import DEFAULT_PLAYLIST_SIZES, ChartWorld, playlist_id_for

LARGEST_PLAYLIST_SIZE = 10_000  # Spotify's maximum number of items in a playlist
LONG_TEXT = "Very long title " + "la " * 700  # ~2 kB of text in one name

WILD_ARTIST_NAMES: tuple[str, ...] = (
    "A$AP Rocky",
    "Ke$ha",
    "$uicideboy$",
    "$ka$h_money$$",
    "Ke$ha^^ A$AP",
    "_underscore first",
    "<script>alert('artist')</script>",
    "Beyoncé & JAY-Z",
    "محمد عبده",
    "עומר אדם",
    "🎧 DJ Emoji 🔥",
    "back\\slash \\n not a newline",
)
WILD_TRACK_NAMES: tuple[str, ...] = (
    "Track [1] {2} *?* 100%",
    "%s %d %(name)s {0} {{}}",
    "<b>bold</b> &amp; <img src=x onerror=alert(1)>",
    "C:\\Music\\track.mp3",
    "Ωmega ≈ √2 🎶🎶",
    "يا ليل يا عين",
    "שיר ישן",
    "Tab\tand\nnewline",
    LONG_TEXT,
    "'; DROP TABLE tracks; --",
    "$100 Bill$",
    "null",
)
# (release_date, precision): year-only, before 1582 (Julian/Gregorian switch), month-only, ordinary.
WILD_RELEASES: tuple[tuple[str, str], ...] = (
    ("1200", "year"),
    ("1200-05-01", "day"),
    ("1899-12", "month"),
    ("2026-11-20", "day"),
)
WILD_PLAYLIST_NAME = "$$ Wild [names] {here} 100% \\ <i>ok</i> 🎵 مرحبا"
WILD_PLAYLIST_DESCRIPTION = '<a href="javascript:alert(1)">markup</a> & RTL: שלום, and $math$ that is not'


def _simple_artist(i: int, name: str) -> dict[str, Any]:
    return simplified_artist(spotify_id("wild-artist", i), name)


def _album(i: int, artist: dict[str, Any]) -> dict[str, Any]:
    release, precision = WILD_RELEASES[i % len(WILD_RELEASES)]
    return album_object(
        spotify_id("wild-album", i),
        album_type="album",
        artists=[artist],
        markets=["US"],
        name=f"{WILD_TRACK_NAMES[i % len(WILD_TRACK_NAMES)][:40]} (album {i})",
        release_date=release,
        precision=precision,
        total_tracks=12,
    )


def _track(i: int, name: str, artists: list[dict[str, Any]]) -> dict[str, Any]:
    tid = spotify_id("wild-track", i)
    return {
        "album": _album(i, artists[0]),
        "artists": artists,
        "available_markets": ["US"],
        "disc_number": 1,
        "duration_ms": 180_000 + i,
        "episode": False,
        "explicit": i % 2 == 0,
        "external_ids": {"isrc": f"USWLD{2600000 + i}"},
        "external_urls": {"spotify": f"{OPEN}/track/{tid}"},
        "href": f"{API}/tracks/{tid}",
        "id": tid,
        "is_local": False,
        "name": name,
        "popularity": 50,
        "preview_url": None,
        "track": True,
        "track_number": 1 + i % 12,
        "type": "track",
        "uri": f"spotify:track:{tid}",
    }


class WildWorld(ChartWorld):
    """The chart world plus a 10,000-item playlist and a playlist of wild names (module doc)."""

    def __init__(self, seed: int = 7, start: date = date(2026, 11, 1)) -> None:
        # the wild playlist's size is its tracks plus the four special items that replace its tail
        sizes = (*DEFAULT_PLAYLIST_SIZES, LARGEST_PLAYLIST_SIZE, len(WILD_TRACK_NAMES) + 4)
        super().__init__(seed, start, playlist_sizes=sizes)
        self.wild_playlist_id = playlist_id_for(len(sizes) - 1)
        self.largest_playlist_id = playlist_id_for(len(sizes) - 2)
        self._wild_artists = [_simple_artist(i, n) for i, n in enumerate(WILD_ARTIST_NAMES)]
        self._wild_artist_by_id = {a["id"]: a for a in self._wild_artists}
        self._wild_tracks = [
            _track(i, name, [self._wild_artists[i % len(self._wild_artists)], *self._featured(i)])
            for i, name in enumerate(WILD_TRACK_NAMES)
        ]
        self._lock = threading.Lock()
        self._cache: dict[
            tuple[str, date], tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]]
        ] = {}

    def _featured(self, i: int) -> list[dict[str, Any]]:
        j = (i + len(WILD_TRACK_NAMES)) % len(self._wild_artists)  # the artists no track leads get a credit
        return [self._wild_artists[j]] if j != i % len(self._wild_artists) else []

    def artist(self, artist_id: str, day: date) -> dict[str, Any] | None:
        simple = self._wild_artist_by_id.get(artist_id)
        if simple is None:
            return super().artist(artist_id, day)
        return {
            **simple,
            "followers": {"href": None, "total": 1000},
            "genres": ["wild"],
            "images": [],
            "popularity": 42,
        }

    def observe(
        self, playlist_id: str, day: date
    ) -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]]:
        """As :meth:`ChartWorld.observe`; the wild playlist is built here, and the last days are cached
        (the server observes once per page: 200 pages of the 10,000-item playlist)."""
        key = (playlist_id, day)
        with self._lock:  # the server answers requests on several threads
            if key not in self._cache:
                playlist, items, artists = super().observe(playlist_id, day)
                if playlist_id == self.wild_playlist_id:
                    playlist, items, artists = self._wild(playlist, day)
                if len(self._cache) >= 16:
                    self._cache.pop(next(iter(self._cache)))
                self._cache[key] = (playlist, items, artists)
            return self._cache[key]

    def _wild(
        self, playlist: dict[str, Any], day: date
    ) -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]]:
        adder = added_by_object(playlist["owner"]["id"])
        items = [playlist_item("2026-11-01T00:00:00Z", adder, track) for track in self._wild_tracks]
        items += [dict(items[0]) for _ in range(4)]  # the tail the specials replace
        self._add_specials(items, day, adder)
        credited = {a["id"] for t in self._wild_tracks for a in t["artists"]}
        artists = [
            full for a in self._wild_artists if a["id"] in credited if (full := self.artist(a["id"], day))
        ]
        return (
            {**playlist, "name": WILD_PLAYLIST_NAME, "description": WILD_PLAYLIST_DESCRIPTION},
            items,
            artists,
        )


WORLDS = ("chart", "wild")


def make_world(name: str, seed: int = 7, start: date = date(2026, 11, 1)) -> ChartWorld:
    """The world called ``name`` (one of :data:`WORLDS`)."""
    if name == "wild":
        return WildWorld(seed, start)
    if name == "chart":
        return ChartWorld(seed, start)
    raise ValueError(f"unknown world {name!r}; one of {', '.join(WORLDS)}")
