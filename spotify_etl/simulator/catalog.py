"""The chart world's shared catalog: artists, albums and tracks, drawn once from the world's seed.

The draws happen in one fixed order (artists, albums, tracks) from one random generator, so a seed always gives
the same catalog; the playlists pick their candidates from it (:mod:`spotify_etl.simulator.world`).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from spotify_etl.simulator.api_objects import API, OPEN, album_object, simplified_artist, spotify_id

GENRES = (
    "pop",
    "dance pop",
    "indie rock",
    "hip hop",
    "trap",
    "afrobeats",
    "k-pop",
    "reggaeton",
    "house",
    "techno",
    "alt z",
    "r&b",
    "singer-songwriter",
    "country",
    "latin pop",
    "drill",
)
WORDS = (
    "Midnight",
    "Echo",
    "Golden",
    "River",
    "Neon",
    "Paper",
    "Static",
    "Velvet",
    "Summer",
    "Ghost",
    "Signal",
    "Orbit",
    "Honey",
    "Wild",
    "Glass",
    "Silver",
    "Northern",
    "Faded",
    "Electric",
    "Quiet",
)
MARKETS = ["CA", "DE", "FR", "GB", "JP", "MX", "NL", "SE", "US"]


@dataclass(frozen=True)
class Artist:
    id: str
    name: str
    genres: tuple[str, ...]
    popularity: int
    followers: int
    phase: float
    simplified: dict[str, Any]


@dataclass(frozen=True)
class Track:
    id: str
    popularity: int
    phase: float
    period: float
    artist_ids: tuple[str, ...]
    template: dict[str, Any]  # the full track object without popularity


@dataclass
class Catalog:
    """The artists (and an index by id), albums and tracks of one world."""

    artists: list[Artist]
    albums: list[dict[str, Any]] = field(default_factory=list)
    tracks: list[Track] = field(default_factory=list)
    artist_by_id: dict[str, Artist] = field(default_factory=dict)


def make_catalog(seed: int, rng: random.Random, n_tracks: int) -> Catalog:
    """``n_tracks`` tracks with about a third as many artists and a quarter as many albums."""
    catalog = Catalog(_make_artists(seed, rng, max(60, n_tracks // 3)))
    catalog.artist_by_id = {a.id: a for a in catalog.artists}
    catalog.albums = _make_albums(seed, rng, catalog.artists, max(40, n_tracks // 4))
    catalog.tracks = _make_tracks(seed, rng, catalog, n_tracks)
    return catalog


def _make_artists(seed: int, rng: random.Random, n: int) -> list[Artist]:
    artists = []
    for i in range(n):
        aid = spotify_id("artist", seed, i)
        name = f"{rng.choice(WORDS)} {rng.choice(WORDS)}" + ("" if i % 3 else f" {i}")
        simplified = simplified_artist(aid, name)
        genres = tuple(rng.sample(GENRES, rng.choice((0, 1, 2, 3))))
        artists.append(
            Artist(
                aid,
                name,
                genres,
                rng.randint(20, 95),
                rng.randint(1_000, 50_000_000),
                rng.random(),
                simplified,
            )
        )
    return artists


def _make_albums(seed: int, rng: random.Random, artists: list[Artist], n: int) -> list[dict[str, Any]]:
    albums = []
    for i in range(n):
        alid = spotify_id("album", seed, i)
        year = rng.randint(1975, 2026)
        precision = rng.choices(("day", "month", "year"), weights=(8, 1, 1))[0]
        release = {
            "day": f"{year}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
            "month": f"{year}-{rng.randint(1, 12):02d}",
            "year": f"{year}",
        }[precision]
        album_type = rng.choices(("album", "single", "compilation"), weights=(5, 4, 1))[0]
        credited = rng.sample(artists, rng.choice((1, 1, 1, 2)))
        name = f"{rng.choice(WORDS)} {rng.choice(WORDS)}"
        total_tracks = 1 if album_type == "single" else rng.randint(6, 18)
        albums.append(
            album_object(
                alid,
                album_type=album_type,
                artists=[a.simplified for a in credited],
                markets=MARKETS,
                name=name,
                release_date=release,
                precision=precision,
                total_tracks=total_tracks,
            )
        )
    return albums


def _make_tracks(seed: int, rng: random.Random, catalog: Catalog, n: int) -> list[Track]:
    tracks = []
    for i in range(n):
        tid = spotify_id("track", seed, i)
        album = rng.choice(catalog.albums)
        lead = catalog.artist_by_id[album["artists"][0]["id"]]
        featured = rng.sample(catalog.artists, rng.choice((0, 0, 0, 1, 2)))
        credits = [lead, *(a for a in featured if a.id != lead.id)]
        template = {
            "album": album,
            "artists": [a.simplified for a in credits],
            "available_markets": MARKETS,
            "disc_number": 1,
            "duration_ms": rng.randint(95_000, 320_000),
            "episode": False,
            "explicit": rng.random() < 0.3,
            "external_ids": {"isrc": f"US{rng.choice(WORDS)[:3].upper()}{rng.randint(2000000, 2699999)}"},
            "external_urls": {"spotify": f"{OPEN}/track/{tid}"},
            "href": f"{API}/tracks/{tid}",
            "id": tid,
            "is_local": False,
            "name": f"{rng.choice(WORDS)} {rng.choice(WORDS)}",
            "preview_url": None if rng.random() < 0.5 else f"https://p.scdn.co/mp3-preview/{tid}",
            "track": True,
            "track_number": rng.randint(1, max(1, album["total_tracks"])),
            "type": "track",
            "uri": f"spotify:track:{tid}",
        }
        tracks.append(
            Track(
                tid,
                rng.randint(25, 90),
                rng.random(),
                rng.uniform(20, 90),
                tuple(a.id for a in credits),
                template,
            )
        )
    return tracks
