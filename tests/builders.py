"""Test data builders: realistic Spotify Web API payloads as plain dicts.

Modeled on real recorded responses (Get Playlist, Get Playlist Items with tracks and episodes, Get
Artist): the same field sets, including the fields our schemas ignore (``href``, ``external_urls``,
``available_markets``, ...), so that the parser is exercised on what Spotify really sends.

Every argument has a default and every id is derived deterministically from a name or seed, so a test
states only what it is about: ``track(id="t1", popularity=None)``. Pass ``OMIT`` to leave a field out
of the object entirely (Development Mode strips ``popularity``/``followers``/``genres``); pass ``None``
to send it as JSON ``null``.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus

from extract_lambda.landing import build_envelope, encode_envelope, raw_key
from spotify_etl.local_extract import LocalLander


class _Omit:
    """Sentinel: leave the field out of the payload (not ``null``)."""

    def __repr__(self) -> str:
        return "OMIT"


class _Auto:
    """Sentinel: derive the value from the object's name/seed."""

    def __repr__(self) -> str:
        return "AUTO"


OMIT: Any = _Omit()
AUTO: Any = _Auto()

DEFAULT_EXTRACTED_AT = datetime(2026, 11, 22, 3, 0, 5, tzinfo=UTC)
_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_MARKETS = ["AD", "AE", "CA", "DE", "GB", "NL", "US"]


def spotify_id(seed: str) -> str:
    """A 22-character base62 id, the shape of Spotify ids, derived from ``seed``."""
    number = int.from_bytes(hashlib.sha256(seed.encode("utf-8")).digest(), "big")
    chars = []
    for _ in range(22):
        number, rest = divmod(number, 62)
        chars.append(_BASE62[rest])
    return "".join(chars)


def _hex(seed: str, n: int = 40) -> str:
    return hashlib.sha256(seed.encode("utf-8")).hexdigest()[:n]


def _pick(value: Any, auto: Any) -> Any:
    return auto if value is AUTO else value


def _clean(obj: dict[str, Any]) -> dict[str, Any]:
    """Drop the fields given as ``OMIT``."""
    return {key: value for key, value in obj.items() if value is not OMIT}


def _put(obj: dict[str, Any], key: str, value: Any) -> None:
    if value is not OMIT:
        obj[key] = value


def _links(kind: str, id_: str | None) -> dict[str, Any]:
    return {
        "external_urls": {"spotify": f"https://open.spotify.com/{kind}/{id_}"} if id_ else {},
        "href": f"https://api.spotify.com/v1/{kind}s/{id_}" if id_ else None,
    }


def image(width: int | None, seed: str = "img", height: Any = AUTO, url: Any = AUTO) -> dict[str, Any]:
    """One image object (``width``/``height`` may be null, as for mosaic playlist covers)."""
    return {
        "height": _pick(height, width),
        "url": _pick(url, f"https://i.scdn.co/image/{_hex(f'{seed}:{width}')}"),
        "width": width,
    }


def images(seed: str, widths: tuple[int | None, ...] = (640, 300, 64)) -> list[dict[str, Any]]:
    """The usual three covers, widest first, as Spotify sends them."""
    return [image(width, seed=seed) for width in widths]


_images = images


def simple_artist(name: str = "Royal Blood", id: Any = AUTO) -> dict[str, Any]:
    """A simplified artist object (as in a track's or album's ``artists``)."""
    artist_id = _pick(id, spotify_id(f"artist:{name}"))
    return {
        **_links("artist", artist_id),
        "id": artist_id,
        "name": name,
        "type": "artist",
        "uri": f"spotify:artist:{artist_id}" if artist_id else None,
    }


def full_artist(
    id: Any = AUTO,
    name: str = "Pitbull",
    genres: Any = ("dance pop", "miami hip hop"),
    popularity: Any = 97,
    followers: Any = 2265279,
) -> dict[str, Any]:
    """A full artist object (Get Artist). ``OMIT`` a field to mimic Development Mode's stripped objects."""
    artist = simple_artist(name=name, id=id)
    artist["images"] = images(f"artist:{name}", (1000, 640, 200, 64))
    _put(artist, "genres", list(genres) if isinstance(genres, tuple | list) else genres)
    _put(artist, "popularity", popularity)
    if followers is not OMIT:
        artist["followers"] = None if followers is None else {"href": None, "total": followers}
    return _clean(artist)


def album(
    id: Any = AUTO,
    name: str = "Typhoons",
    album_type: str | None = "album",
    release_date: Any = "2021-04-30",
    release_date_precision: Any = "day",
    total_tracks: Any = 11,
    artists: Any = AUTO,
    images: Any = AUTO,
) -> dict[str, Any]:
    """A simplified album object, as embedded in a track."""
    album_id = _pick(id, spotify_id(f"album:{name}"))
    obj: dict[str, Any] = {
        "album_type": album_type,
        "artists": _pick(artists, [simple_artist()]),
        "available_markets": _MARKETS,
        **_links("album", album_id),
        "id": album_id,
        "images": _pick(images, _images(f"album:{name}")),
        "name": name,
    }
    _put(obj, "release_date", release_date)
    _put(obj, "release_date_precision", release_date_precision)
    _put(obj, "total_tracks", total_tracks)
    obj["type"] = "album"
    obj["uri"] = f"spotify:album:{album_id}" if album_id else None
    return _clean(obj)


_album = album  # the builders below take parameters named like the builders


def track(
    id: Any = AUTO,
    name: str = "Typhoons",
    album: Any = AUTO,
    artists: Any = AUTO,
    duration_ms: Any = 236933,
    explicit: Any = False,
    popularity: Any = 58,
    disc_number: Any = 1,
    track_number: Any = 3,
    isrc: Any = AUTO,
    preview_url: Any = AUTO,
    is_local: bool = False,
) -> dict[str, Any]:
    """A full track object (the ``item``/``track`` of a playlist item). ``isrc=OMIT`` drops external_ids."""
    track_id = _pick(id, spotify_id(f"track:{name}"))
    obj: dict[str, Any] = {
        "album": _pick(album, _album()),
        "artists": _pick(artists, [simple_artist()]),
        "available_markets": _MARKETS,
        "disc_number": disc_number,
        "duration_ms": duration_ms,
        "episode": False,
        "explicit": explicit,
    }
    if isrc is not OMIT:
        obj["external_ids"] = {"isrc": _pick(isrc, "GB" + _hex(f"isrc:{name}", 10).upper())}
    obj.update(_links("track", track_id))
    obj["id"] = track_id
    obj["is_local"] = is_local
    obj["name"] = name
    _put(obj, "popularity", popularity)
    obj["preview_url"] = _pick(preview_url, f"https://p.scdn.co/mp3-preview/{_hex(f'preview:{name}')}")
    obj["track"] = True
    obj["track_number"] = track_number
    obj["type"] = "track"
    obj["uri"] = f"spotify:track:{track_id}" if track_id else None
    return _clean(obj)


def episode(
    id: Any = AUTO,
    name: str = "491- The Missing Middle",
    show: str = "99% Invisible",
    duration_ms: Any = 2249560,
    explicit: Any = False,
    release_date: str = "2022-05-18",
) -> dict[str, Any]:
    """A podcast episode object, as it appears in a playlist that mixes episodes and tracks."""
    episode_id = _pick(id, spotify_id(f"episode:{name}"))
    show_id = spotify_id(f"show:{show}")
    return {
        "audio_preview_url": f"https://p.scdn.co/mp3-preview/{_hex(f'episode-preview:{name}')}",
        "description": f"{name}: an episode of {show}.",
        "duration_ms": duration_ms,
        "episode": True,
        "explicit": explicit,
        **_links("episode", episode_id),
        "id": episode_id,
        "images": images(f"episode:{name}"),
        "is_externally_hosted": False,
        "is_playable": True,
        "language": "en-US",
        "languages": ["en-US"],
        "name": name,
        "release_date": release_date,
        "release_date_precision": "day",
        "resume_point": {"fully_played": False, "resume_position_ms": 0},
        "show": {
            "available_markets": _MARKETS,
            "copyrights": [],
            "explicit": True,
            **_links("show", show_id),
            "id": show_id,
            "images": images(f"show:{show}"),
            "media_type": "audio",
            "name": show,
            "publisher": "Roman Mars",
            "total_episodes": 545,
            "type": "show",
            "uri": f"spotify:show:{show_id}",
        },
        "track": False,
        "type": "episode",
        "uri": f"spotify:episode:{episode_id}",
    }


def local_track(
    name: str = "My Demo", artist: str = "Me", album_name: str = "Home Tapes", duration_ms: int = 180000
) -> dict[str, Any]:
    """A local file in a playlist: ``is_local`` true, null ids, a ``spotify:local:`` uri."""
    uri = f"spotify:local:{quote_plus(artist)}:{quote_plus(album_name)}:{quote_plus(name)}:{duration_ms // 1000}"
    return {
        "album": {
            "album_type": None,
            "artists": [],
            "available_markets": [],
            "external_urls": {},
            "href": None,
            "id": None,
            "images": [],
            "name": album_name,
            "release_date": None,
            "release_date_precision": None,
            "type": "album",
            "uri": None,
        },
        "artists": [
            {"external_urls": {}, "href": None, "id": None, "name": artist, "type": "artist", "uri": None}
        ],
        "available_markets": [],
        "disc_number": 0,
        "duration_ms": duration_ms,
        "explicit": False,
        "external_ids": {},
        "external_urls": {},
        "href": None,
        "id": None,
        "is_local": True,
        "name": name,
        "popularity": 0,
        "preview_url": None,
        "track_number": 0,
        "type": "track",
        "uri": uri,
    }


def user(id: str = "owner1", display_name: Any = AUTO) -> dict[str, Any]:
    """A public user object (playlist owner, ``added_by``)."""
    return {
        "display_name": _pick(display_name, id.capitalize()),
        "external_urls": {"spotify": f"https://open.spotify.com/user/{id}"},
        "href": f"https://api.spotify.com/v1/users/{id}",
        "id": id,
        "type": "user",
        "uri": f"spotify:user:{id}",
    }


def playlist_item(
    playable: Any = AUTO,
    key: str = "item",
    added_at: Any = "2026-11-01T10:00:00Z",
    added_by: Any = "owner1",
    is_local: Any = AUTO,
) -> dict[str, Any]:
    """A playlist item (PlaylistTrackObject). ``key``: ``item`` (2026), ``track`` (older) or ``both``.

    ``playable=None`` is an unavailable item (its object is null). ``added_by`` is a user id, or None.
    ``is_local`` defaults to the playable's own flag.
    """
    obj = _pick(playable, track())
    if key not in ("item", "track", "both"):
        raise ValueError(f"key must be 'item', 'track' or 'both', got {key!r}")
    local = _pick(is_local, bool(obj and obj.get("is_local")))
    item: dict[str, Any] = {
        "added_at": added_at,
        "added_by": user(added_by) if isinstance(added_by, str) else added_by,
        "is_local": local,
        "primary_color": None,
    }
    if key in ("item", "both"):
        item["item"] = obj
    if key in ("track", "both"):
        item["track"] = obj
    item["video_thumbnail"] = {"url": None}
    return _clean(item)


def playlist(
    id: str = "pl1",
    name: str = "Rap RU",
    snapshot_id: Any = AUTO,
    description: Any = "Bit of a overlap with phonk but whatever",
    owner_id: str = "owner1",
    owner_display_name: Any = AUTO,
    followers: Any = 0,
    public: Any = True,
    collaborative: Any = False,
    total: int = 0,
) -> dict[str, Any]:
    """A Get Playlist response with its embedded (first, empty) items page, which the envelope drops."""
    obj: dict[str, Any] = {
        "collaborative": collaborative,
        "description": description,
        "external_urls": {"spotify": f"https://open.spotify.com/playlist/{id}"},
    }
    if followers is not OMIT:
        obj["followers"] = None if followers is None else {"href": None, "total": followers}
    obj.update(
        {
            "href": f"https://api.spotify.com/v1/playlists/{id}",
            "id": id,
            "images": [image(None, seed=f"mosaic:{id}", height=None)],
            "name": name,
            "owner": user(owner_id, owner_display_name),
            "primary_color": None,
            "public": public,
            "snapshot_id": _pick(snapshot_id, "MSw" + _hex(f"snapshot:{id}:{name}", 37)),
            "items": {
                "href": f"https://api.spotify.com/v1/playlists/{id}/items?offset=0&limit=50",
                "items": [],
                "limit": 50,
                "next": None,
                "offset": 0,
                "previous": None,
                "total": total,
            },
            "type": "playlist",
            "uri": f"spotify:playlist:{id}",
        }
    )
    return _clean(obj)


_playlist = playlist


def envelope(
    playlist: Any = AUTO,
    items: Any = AUTO,
    artists: Any = (),
    extracted_at: datetime = DEFAULT_EXTRACTED_AT,
    market: str | None = "US",
    auth_flow: str = "client_credentials",
) -> dict[str, Any]:
    """The raw envelope of docs/design.md s.2, built by the production ``build_envelope``."""
    return build_envelope(
        playlist=_pick(playlist, _playlist()),
        items=list(_pick(items, [playlist_item()])),
        artists=list(artists),
        extracted_at=extracted_at,
        market=market,
        auth_flow=auth_flow,
    )


def land(raw_root: Path, envelope: dict[str, Any]) -> str:
    """Write ``envelope`` under ``raw_root`` at its contract key; return the object's file URI."""
    extracted_at = datetime.strptime(envelope["extracted_at"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    key = raw_key(envelope["playlist"]["id"], extracted_at, envelope["playlist"].get("snapshot_id"))
    return LocalLander(raw_root).land(key, encode_envelope(envelope)).uri


def source_file(envelope: dict[str, Any], raw_root: str = "file:///lake/raw") -> str:
    """``<raw_root>/<contract key>`` of ``envelope``, written plainly (``land`` returns the same location,
    but as ``Path.as_uri()`` spells it, with ``=`` percent-encoded)."""
    extracted_at = datetime.strptime(envelope["extracted_at"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    return f"{raw_root}/" + raw_key(
        envelope["playlist"]["id"], extracted_at, envelope["playlist"].get("snapshot_id")
    )


def observations_df(spark: Any, envelopes: list[Any]) -> Any:
    """An ``OBSERVATION`` DataFrame of ``envelopes`` (dicts, or ``(source_file, dict)`` pairs).

    A stand-in for the job's raw parser, for tests of the table transforms: the envelope is serialized
    to JSON and read back with the explicit ``ENVELOPE`` schema, so missing keys become nulls exactly as
    they do in the job.
    """
    import json

    from pyspark.sql import functions as F

    from spotify_etl.transform.schema import ENVELOPE, OBSERVATION

    pairs = [e if isinstance(e, tuple) else (source_file(e), e) for e in envelopes]
    objects_df = spark.createDataFrame(
        [(uri, json.dumps(env)) for uri, env in pairs], "source_file string, value string"
    )
    parsed_df = objects_df.select("source_file", F.from_json("value", ENVELOPE).alias("e")).select(
        "source_file",
        F.to_timestamp(F.regexp_replace("e.extracted_at", "Z$", ""), "yyyy-MM-dd'T'HH:mm:ss").alias(
            "extracted_at"
        ),
        "e.market",
        "e.playlist",
        "e.items",
        "e.artists",
    )
    rows = parsed_df.select(
        "source_file",
        "extracted_at",
        F.date_format("extracted_at", "yyyy-MM-dd").alias("snapshot_date"),
        "market",
        "playlist",
        "items",
        "artists",
    ).collect()
    return spark.createDataFrame(rows, OBSERVATION)
