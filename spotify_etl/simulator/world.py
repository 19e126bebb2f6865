"""A deterministic chart world: playlists that evolve day by day, as the Spotify Web API would show them.

The world is a pure function of ``(seed, start, sizes)`` and a day: ``observe(playlist_id, day)`` gives the
Get Playlist object, the playlist items in order and the full artist objects of the tracks' artists, with
no HTTP and no state. The simulator server serves it; the benchmark calls it directly to generate raw data
at scale, so one observation costs a few hundred small dict copies and nothing else.

How a chart evolves (all O(1) per candidate and per day, so any day can be observed without replaying
the days before it):

- every playlist has a pool of ``2 x size`` candidate tracks drawn from a shared catalog;
- a candidate is "in season" on the days where ``(day + phase) mod period < duration`` (its run in the
  chart starts on the first day of the season, which is its ``added_at``): entries and exits;
- its score on a day is a sum of two slow sinusoids: the chart is the in-season candidates ordered by
  score (reorders), topped up with the best off-season ones when too few are in season;
- track and artist popularity drift with the same kind of sinusoid.

Playlist 0 also carries the odd items real playlists have: the same track listed twice, a local file
(null ids), a podcast episode and an unavailable item (``item: null``).
"""

from __future__ import annotations

import base64
import hashlib
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from spotify_etl.simulator.api_objects import (
    API,
    OPEN,
    added_by_object,
    episode_object,
    images,
    playlist_item,
    spotify_id,
    user_object,
)
from spotify_etl.simulator.catalog import MARKETS, Artist, Track, make_catalog

# The user the simulator's refresh token belongs to (owns most playlists) and another curator.
SIM_USER_ID = "sim_user"
SIM_USER_NAME = "Sim User"
OTHER_CURATOR_ID = "other_curator"

# "Top 50 - Global": a Spotify-owned editorial playlist. Apps created after 2024-11-27 get 404 for it.
EDITORIAL_PLAYLIST_ID = "37i9dQZEVXbMDoHDwVN2tF"

DEFAULT_PLAYLIST_SIZES: tuple[int, ...] = (100, 60, 120, 40)
DEFAULT_PLAYLIST_NAMES = ("Daily Chart", "Fresh Finds", "Long Mix", "Curated Elsewhere")
# Index of the default playlist owned by someone else: a Development Mode user token gets 403 on it.
FOREIGN_PLAYLIST_INDEX = 3


class UnknownPlaylistError(KeyError):
    """The world has no such playlist (or it is an editorial one that apps may no longer read)."""


def playlist_id_for(index: int) -> str:
    """The id of the world's playlist number ``index``."""
    return spotify_id("playlist", index)


DEFAULT_PLAYLIST_IDS: tuple[str, ...] = tuple(playlist_id_for(i) for i in range(len(DEFAULT_PLAYLIST_SIZES)))


def _wave(day: int, period: float, phase: float) -> float:
    return math.sin(2.0 * math.pi * (day / period + phase))


@dataclass(frozen=True)
class _Candidate:
    track: Track
    period: int
    duration: int
    phase: int
    w_period: float
    w_phase: float
    weight: float


@dataclass(frozen=True)
class _Playlist:
    index: int
    id: str
    name: str
    size: int
    owner_id: str
    owner_name: str
    collaborative: bool
    followers: int
    specials: bool


class ChartWorld:
    """A deterministic set of evolving playlists (see the module docstring).

    Args:
        seed: drives the catalog and the charts; the same seed gives the same world.
        start: the world's first day (day 0); any day, before or after, can be observed.
        n_playlists: how many playlists; default: the four default playlists.
        playlist_size: the size of every playlist when ``n_playlists`` is given (default 100).
        playlist_sizes: explicit per-playlist sizes (overrides the two above); 0 is allowed.
        specials: give playlist 0 a duplicated track, a local file, an episode and an unavailable item.
    """

    def __init__(
        self,
        seed: int = 7,
        start: date = date(2026, 11, 1),
        n_playlists: int | None = None,
        playlist_size: int | None = None,
        *,
        playlist_sizes: Sequence[int] | None = None,
        specials: bool = True,
    ) -> None:
        if playlist_sizes is not None:
            sizes = tuple(playlist_sizes)
        elif n_playlists is not None or playlist_size is not None:
            sizes = (playlist_size or 100,) * (n_playlists if n_playlists is not None else 4)
        else:
            sizes = DEFAULT_PLAYLIST_SIZES
        if any(s < 0 for s in sizes):
            raise ValueError(f"playlist sizes must be >= 0, got {sizes}")
        self.seed = seed
        self.start = start
        self.sizes = sizes
        self.specials = specials
        self._rng = random.Random(seed)
        n_tracks = max(400, min(20_000, sum(sizes) // 2, max(sizes, default=0) * 4))
        n_tracks = max(n_tracks, 2 * max(sizes, default=0))
        catalog = make_catalog(seed, self._rng, n_tracks)
        self._artist_by_id = catalog.artist_by_id
        self._tracks = catalog.tracks
        self._playlists: dict[str, _Playlist] = {}
        for index, size in enumerate(sizes):
            pid = playlist_id_for(index)
            self._playlists[pid] = self._make_playlist(index, pid, size)
        self._pools: dict[str, list[_Candidate]] = {}
        self._episode = self._make_episode()

    # ------------------------------------------------------------------ construction (once)

    def _make_playlist(self, index: int, pid: str, size: int) -> _Playlist:
        rng = random.Random(f"{self.seed}:playlist:{index}")
        default = self.sizes == DEFAULT_PLAYLIST_SIZES
        name = DEFAULT_PLAYLIST_NAMES[index] if default else f"Chart {index:05d}"
        foreign = default and index == FOREIGN_PLAYLIST_INDEX
        return _Playlist(
            index=index,
            id=pid,
            name=name,
            size=size,
            owner_id=OTHER_CURATOR_ID if foreign else SIM_USER_ID,
            owner_name="Other Curator" if foreign else SIM_USER_NAME,
            collaborative=index % 5 == 1,
            followers=rng.randint(0, 250_000),
            specials=self.specials and index == 0 and size >= 8,
        )

    def _make_episode(self) -> dict[str, Any]:
        return episode_object(spotify_id("episode", self.seed), spotify_id("show", self.seed), MARKETS)

    def _pool(self, playlist: _Playlist) -> list[_Candidate]:
        pool = self._pools.get(playlist.id)
        if pool is None:
            rng = random.Random(f"{self.seed}:pool:{playlist.index}")
            picks = rng.sample(self._tracks, min(len(self._tracks), 2 * playlist.size))
            pool = []
            for track in picks:
                period = rng.randint(14, 60)
                pool.append(
                    _Candidate(
                        track=track,
                        period=period,
                        duration=max(3, int(period * rng.uniform(0.45, 0.85))),
                        phase=rng.randrange(period),
                        w_period=rng.uniform(20, 60),
                        w_phase=rng.random(),
                        weight=rng.uniform(0, 1),
                    )
                )
            self._pools[playlist.id] = pool
        return pool

    # ------------------------------------------------------------------ queries (pure)

    @property
    def playlist_ids(self) -> tuple[str, ...]:
        """The ids of every playlist of this world, in index order."""
        return tuple(self._playlists)

    def has_playlist(self, playlist_id: str) -> bool:
        """True for a readable playlist of this world (editorial ids are not readable)."""
        return playlist_id in self._playlists

    def owner_of(self, playlist_id: str) -> str:
        """The user id that owns the playlist."""
        return self._get(playlist_id).owner_id

    def collaborators_of(self, playlist_id: str) -> tuple[str, ...]:
        """Users that may edit the playlist besides its owner (collaborative playlists: the sim user)."""
        playlist = self._get(playlist_id)
        return (SIM_USER_ID,) if playlist.collaborative else ()

    def _get(self, playlist_id: str) -> _Playlist:
        try:
            return self._playlists[playlist_id]
        except KeyError:
            raise UnknownPlaylistError(playlist_id) from None

    def artist(self, artist_id: str, day: date) -> dict[str, Any] | None:
        """The full artist object on ``day`` (popularity and followers drift), or None if unknown."""
        artist = self._artist_by_id.get(artist_id)
        if artist is None:
            return None
        return self._full_artist(artist, (day - self.start).days)

    def _full_artist(self, artist: Artist, day: int) -> dict[str, Any]:
        wave = _wave(day, 45.0, artist.phase)
        return {
            **artist.simplified,
            "followers": {"href": None, "total": int(artist.followers * (1 + 0.002 * day + 0.01 * wave))},
            "genres": list(artist.genres),
            "images": images(f"ab6761610000{artist.id}", (640, 320, 160)),
            "popularity": max(0, min(100, artist.popularity + round(4 * wave))),
        }

    def chart(self, playlist_id: str, day: date) -> list[tuple[Track, date]]:
        """The tracks of the playlist on ``day`` in order, each with the day it was added."""
        playlist = self._get(playlist_id)
        if playlist.size == 0:
            return []
        d = (day - self.start).days
        in_season: list[tuple[float, int, _Candidate, int]] = []
        off_season: list[tuple[float, int, _Candidate, int]] = []
        for i, cand in enumerate(self._pool(playlist)):
            into = (d + cand.phase) % cand.period
            score = cand.weight + 0.3 * _wave(d, cand.w_period, cand.w_phase)
            if into < cand.duration:
                in_season.append((-score, i, cand, into))
            else:
                off_season.append((-score, i, cand, 0))
        in_season.sort(key=lambda t: (t[0], t[1]))
        chosen = in_season[: playlist.size]
        if len(chosen) < playlist.size:
            off_season.sort(key=lambda t: (t[0], t[1]))
            chosen += off_season[: playlist.size - len(chosen)]
        return [(cand.track, day - timedelta(days=into)) for _, _, cand, into in chosen]

    def observe(
        self, playlist_id: str, day: date
    ) -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]]:
        """One observation of a playlist on ``day``: (playlist object, items in order, full artist objects).

        The playlist object is the Get Playlist response without its embedded items paging; items use the
        2026 key ``item``; the artists are the full objects of every track's credited artists, in order of
        first appearance.

        Raises:
            UnknownPlaylistError: the world has no playlist with this id (editorial ids included).
        """
        playlist = self._get(playlist_id)
        d = (day - self.start).days
        adder = added_by_object(playlist.owner_id)
        items: list[dict[str, Any]] = []
        for track, added in self.chart(playlist_id, day):
            drift = _wave(d, track.period, track.phase)
            popularity = max(0, min(100, track.popularity + round(8 * drift)))
            items.append(
                playlist_item(
                    f"{added.isoformat()}T{(track.popularity * 613) % 86400 // 3600:02d}:00:00Z",
                    adder,
                    {**track.template, "popularity": popularity},
                )
            )
        if playlist.specials:
            self._add_specials(items, day, adder)
        artists: list[dict[str, Any]] = []
        seen: set[str] = set()
        for entry in items:
            obj = entry["item"]
            if not obj or obj.get("type") != "track" or obj.get("is_local"):
                continue
            for simple in obj["artists"]:
                aid = simple["id"]
                if aid and aid not in seen:
                    seen.add(aid)
                    artists.append(self._full_artist(self._artist_by_id[aid], d))
        snapshot = hashlib.sha256(
            "|".join(f"{e['item']['id'] if e['item'] else None}@{e['added_at']}" for e in items).encode()
        ).digest()
        snapshot_id = base64.b64encode(f"{d + 1000},".encode() + snapshot[:20]).decode()
        playlist_obj = {
            "collaborative": playlist.collaborative,
            "description": f"The {playlist.name.lower()}, refreshed every day.",
            "external_urls": {"spotify": f"{OPEN}/playlist/{playlist.id}"},
            "followers": {"href": None, "total": playlist.followers + 37 * max(d, 0)},
            "href": f"{API}/playlists/{playlist.id}",
            "id": playlist.id,
            "images": images(f"ab67706c0000{playlist.id}", (640, 300, 60)),
            "name": playlist.name,
            "owner": user_object(playlist.owner_id, playlist.owner_name),
            "primary_color": None,
            "public": not playlist.collaborative,
            "snapshot_id": snapshot_id,
            "type": "playlist",
            "uri": f"spotify:playlist:{playlist.id}",
        }
        return playlist_obj, items, artists

    def _add_specials(self, items: list[dict[str, Any]], day: date, adder: dict[str, Any]) -> None:
        """Replace the tail of playlist 0 with the odd items real playlists carry (size unchanged)."""
        stamp = f"{(day - timedelta(days=3)).isoformat()}T12:00:00Z"
        local = {
            "album": {"album_type": None, "artists": [], "available_markets": [], "external_urls": {},
                      "href": None, "id": None, "images": [], "name": "Bedroom Demos", "release_date": None,
                      "release_date_precision": None, "type": "album", "uri": None},
            "artists": [{"external_urls": {}, "href": None, "id": None, "name": "Me", "type": "artist",
                         "uri": None}],
            "available_markets": [], "disc_number": 0, "duration_ms": 201_000, "explicit": False,
            "external_ids": {}, "external_urls": {}, "href": None, "id": None, "is_local": True,
            "name": "demo take 3", "popularity": 0, "preview_url": None, "track_number": 0,
            "type": "track", "uri": "spotify:local:Me:Bedroom+Demos:demo+take+3:201",
        }  # fmt: skip
        first = items[0]
        specials = [
            {**first, "added_at": stamp},  # the chart's number one, listed a second time
            playlist_item(stamp, adder, local, is_local=True),
            playlist_item(stamp, adder, self._episode),
            playlist_item(stamp, adder, None),  # unavailable
        ]
        items[len(items) - len(specials) :] = specials
