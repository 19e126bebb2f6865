"""The Spotify Web API's object shapes (2026), as the simulator's worlds build them: ids, users, artists,
albums, episodes and playlist items. Pure functions of their arguments; no world state."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

API = "https://api.spotify.com/v1"
OPEN = "https://open.spotify.com"

# Playlist ids are a function of their index only (never of the seed), so they can be constants.
_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def spotify_id(*parts: object) -> str:
    """A deterministic 22-character base62 id (Spotify's id alphabet and length)."""
    digest = int.from_bytes(hashlib.blake2b(":".join(map(str, parts)).encode(), digest_size=16).digest())
    chars = []
    for _ in range(22):
        digest, rem = divmod(digest, 62)
        chars.append(_BASE62[rem])
    return "".join(chars)


def user_object(user_id: str, display_name: str | None) -> dict[str, Any]:
    return {
        "display_name": display_name,
        "external_urls": {"spotify": f"{OPEN}/user/{user_id}"},
        "href": f"{API}/users/{user_id}",
        "id": user_id,
        "type": "user",
        "uri": f"spotify:user:{user_id}",
    }


def added_by_object(user_id: str) -> dict[str, Any]:
    user = user_object(user_id, None)
    del user["display_name"]
    return user


def simplified_artist(artist_id: str, name: str) -> dict[str, Any]:
    """The simplified artist object of the Web API (as tracks and albums embed it)."""
    return {
        "external_urls": {"spotify": f"{OPEN}/artist/{artist_id}"},
        "href": f"{API}/artists/{artist_id}",
        "id": artist_id,
        "name": name,
        "type": "artist",
        "uri": f"spotify:artist:{artist_id}",
    }


def images(key: str, sizes: Sequence[int]) -> list[dict[str, Any]]:
    return [{"height": s, "url": f"https://i.scdn.co/image/{key}{s}", "width": s} for s in sizes]


def album_object(
    album_id: str,
    *,
    album_type: str,
    artists: list[dict[str, Any]],
    markets: list[str],
    name: str,
    release_date: str,
    precision: str,
    total_tracks: int,
) -> dict[str, Any]:
    """The simplified album object of the Web API (as tracks embed it)."""
    return {
        "album_type": album_type,
        "artists": artists,
        "available_markets": markets,
        "external_urls": {"spotify": f"{OPEN}/album/{album_id}"},
        "href": f"{API}/albums/{album_id}",
        "id": album_id,
        "images": images(f"ab67616d0000{album_id}", (640, 300, 64)),
        "name": name,
        "release_date": release_date,
        "release_date_precision": precision,
        "total_tracks": total_tracks,
        "type": "album",
        "uri": f"spotify:album:{album_id}",
    }


def playlist_item(
    added_at: str, added_by: dict[str, Any], item: dict[str, Any] | None, is_local: bool = False
) -> dict[str, Any]:
    """One entry of a playlist's items (2026 shape: the track or episode under ``item``)."""
    return {
        "added_at": added_at,
        "added_by": added_by,
        "is_local": is_local,
        "item": item,
        "primary_color": None,
        "video_thumbnail": {"url": None},
    }


def episode_object(eid: str, sid: str, markets: list[str]) -> dict[str, Any]:
    """A podcast episode as a playlist item carries it (with its show)."""
    return {
        "audio_preview_url": f"https://p.scdn.co/mp3-preview/{eid}",
        "description": "A weekly exploration of how charts are made.",
        "duration_ms": 2_249_560,
        "episode": True,
        "explicit": False,
        "external_urls": {"spotify": f"{OPEN}/episode/{eid}"},
        "href": f"{API}/episodes/{eid}",
        "html_description": "<p>A weekly exploration of how charts are made.</p>",
        "id": eid,
        "images": images(f"ab6765630000{eid}", (640, 300, 64)),
        "is_externally_hosted": False,
        "is_playable": True,
        "language": "en-US",
        "languages": ["en-US"],
        "name": "Chart Talk 42 - The Missing Middle",
        "release_date": "2026-10-18",
        "release_date_precision": "day",
        "resume_point": {"fully_played": False, "resume_position_ms": 0},
        "show": {
            "available_markets": markets,
            "copyrights": [],
            "description": "Chart Talk: the stories behind the songs.",
            "explicit": False,
            "external_urls": {"spotify": f"{OPEN}/show/{sid}"},
            "href": f"{API}/shows/{sid}",
            "html_description": None,
            "id": sid,
            "images": images(f"ab6765630000{sid}", (640, 300, 64)),
            "is_externally_hosted": False,
            "languages": ["en"],
            "media_type": "audio",
            "name": "Chart Talk",
            "publisher": "Sim Studios",
            "total_episodes": 120,
            "type": "show",
            "uri": f"spotify:show:{sid}",
        },
        "track": False,
        "type": "episode",
        "uri": f"spotify:episode:{eid}",
    }
