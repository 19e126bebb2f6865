"""The Spotify Web API's ``/v1`` endpoints as the simulator answers them: playlists, their items, artists.

What each endpoint accepts and refuses follows Spotify's OpenAPI description (the module docstring of
:mod:`spotify_etl.simulator.server` lists it); the answer depends only on the world, the day, the mode and the
caller's token, never on the server's state.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import urlencode

from spotify_etl.simulator.fields import FieldsSyntaxError, apply_fields
from spotify_etl.simulator.world import EDITORIAL_PLAYLIST_ID, ChartWorld

MAX_PAGE_LIMIT = 50
MAX_ARTIST_IDS = 50
EMBEDDED_PAGE_LIMIT = 100
_DEV_MODE_DROPPED = ("popularity", "followers", "available_markets", "label")
_ID = re.compile(r"^[0-9A-Za-z]{1,64}$")


@dataclass
class Token:
    user_id: str | None
    scope: str | None


class HttpError(Exception):
    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


class WebApi:
    """The ``/v1`` endpoints over one world (the token endpoint and the clock belong to the server)."""

    def __init__(self, world: ChartWorld, api_base_url: Callable[[], str]) -> None:
        self.world = world
        self._api_base_url = api_base_url  # known once the server is bound to its port

    @property
    def api_base_url(self) -> str:
        return self._api_base_url()

    def answer(
        self, path: str, query: dict[str, list[str]], token: Token, day: date, dev_mode: bool, legacy: bool
    ) -> Any:
        """The JSON answer to ``GET /v1<path>`` on ``day``; raises :class:`HttpError` as the API answers."""
        segments = [s for s in path.split("/") if s]
        if segments == ["artists"]:
            return self._artists(query, day, dev_mode)
        if len(segments) == 2 and segments[0] == "artists":
            return self._artist(segments[1], day, dev_mode)
        if segments and segments[0] == "playlists" and len(segments) in (2, 3):
            playlist_id = segments[1]
            if not _ID.match(playlist_id):
                raise HttpError(400, "Invalid base62 id")
            sub = segments[2] if len(segments) == 3 else None
            if sub is None:
                return self._playlist(playlist_id, query, day, dev_mode, legacy, token)
            if sub in ("items", "tracks"):
                if sub == "tracks" and dev_mode:
                    raise HttpError(403, "Forbidden")
                return self._items_page(playlist_id, sub, query, day, dev_mode, legacy, token)
        raise HttpError(404, "Service not found")

    def _known(self, playlist_id: str) -> None:
        if playlist_id == EDITORIAL_PLAYLIST_ID or not self.world.has_playlist(playlist_id):
            raise HttpError(404, "Resource not found")

    def _may_read_items(self, playlist_id: str, dev_mode: bool, token: Token) -> bool:
        if not dev_mode:
            return True
        if token.user_id is None:
            return False
        owner = self.world.owner_of(playlist_id)
        return token.user_id == owner or token.user_id in self.world.collaborators_of(playlist_id)

    def _playlist(
        self,
        playlist_id: str,
        query: dict[str, list[str]],
        day: date,
        dev_mode: bool,
        legacy: bool,
        token: Token,
    ) -> dict[str, Any]:
        self._known(playlist_id)
        playlist, items, _ = self.world.observe(playlist_id, day)
        answer = dict(playlist)
        answer["href"] = f"{self.api_base_url}playlists/{playlist_id}"
        if self._may_read_items(playlist_id, dev_mode, token):
            sub = "tracks" if legacy else "items"
            extra = {k: v[0] for k, v in query.items() if k in ("market", "additional_types")}
            page = self._page(playlist_id, sub, items, 0, EMBEDDED_PAGE_LIMIT, extra, legacy)
            answer[sub] = page
        if dev_mode:
            answer = _strip_dev_fields(answer)
        return _with_fields(answer, query)

    def _items_page(
        self,
        playlist_id: str,
        sub: str,
        query: dict[str, list[str]],
        day: date,
        dev_mode: bool,
        legacy: bool,
        token: Token,
    ) -> dict[str, Any]:
        self._known(playlist_id)
        if not self._may_read_items(playlist_id, dev_mode, token):
            raise HttpError(403, "Forbidden")
        limit = _int_param(query, "limit", 20)
        offset = _int_param(query, "offset", 0)
        if not 1 <= limit <= MAX_PAGE_LIMIT:
            raise HttpError(400, f"Invalid limit: {limit} (1..{MAX_PAGE_LIMIT})")
        if offset < 0:
            raise HttpError(400, f"Invalid offset: {offset}")
        _, items, _ = self.world.observe(playlist_id, day)
        extra = {k: v[0] for k, v in query.items() if k in ("market", "additional_types")}
        page = self._page(playlist_id, sub, items, offset, limit, extra, legacy or sub == "tracks")
        return _with_fields(_strip_dev_fields(page) if dev_mode else page, query)

    def _page(
        self,
        playlist_id: str,
        sub: str,
        items: list[dict[str, Any]],
        offset: int,
        limit: int,
        extra: dict[str, str],
        legacy: bool,
    ) -> dict[str, Any]:
        def url(at: int) -> str:
            return f"{self.api_base_url}playlists/{playlist_id}/{sub}?" + urlencode(
                {"offset": at, "limit": limit, **extra}
            )

        chunk = items[offset : offset + limit]
        if legacy:
            chunk = [{("track" if k == "item" else k): v for k, v in entry.items()} for entry in chunk]
        total = len(items)
        return {
            "href": url(offset),
            "items": chunk,
            "limit": limit,
            "next": url(offset + limit) if offset + limit < total else None,
            "offset": offset,
            "previous": url(max(0, offset - limit)) if offset > 0 else None,
            "total": total,
        }

    def _artists(self, query: dict[str, list[str]], day: date, dev_mode: bool) -> dict[str, Any]:
        if dev_mode:
            raise HttpError(403, "Forbidden")
        raw = ",".join(query.get("ids", []))
        ids = [i for i in raw.split(",") if i]
        if not ids:
            raise HttpError(400, "Missing ids parameter")
        if len(ids) > MAX_ARTIST_IDS:
            raise HttpError(400, f"Too many ids requested: {len(ids)} (at most {MAX_ARTIST_IDS})")
        for artist_id in ids:
            if not _ID.match(artist_id):
                raise HttpError(400, f"Invalid base62 id: {artist_id}")
        return {"artists": [self.world.artist(artist_id, day) for artist_id in ids]}

    def _artist(self, artist_id: str, day: date, dev_mode: bool) -> dict[str, Any]:
        if not _ID.match(artist_id):
            raise HttpError(400, "Invalid base62 id")
        artist = self.world.artist(artist_id, day)
        if artist is None:
            raise HttpError(404, "Resource not found")
        return _strip_dev_fields(artist) if dev_mode else artist


def _int_param(query: dict[str, list[str]], name: str, default: int) -> int:
    values = query.get(name)
    if not values:
        return default
    try:
        return int(values[0])
    except ValueError:
        raise HttpError(400, f"Invalid {name}: {values[0]!r}") from None


def _with_fields(answer: dict[str, Any], query: dict[str, list[str]]) -> dict[str, Any]:
    """The answer reduced by the ``fields`` parameter, if any (400 when it does not parse)."""
    fields = query.get("fields")
    if not fields:
        return answer
    try:
        filtered: dict[str, Any] = apply_fields(answer, fields[0])
    except FieldsSyntaxError as error:
        raise HttpError(400, str(error)) from None
    return filtered


def _strip_dev_fields(value: Any) -> Any:
    """Drop the fields Development Mode apps no longer get (recursively, on fresh copies)."""
    if isinstance(value, dict):
        return {k: _strip_dev_fields(v) for k, v in value.items() if k not in _DEV_MODE_DROPPED}
    if isinstance(value, list):
        return [_strip_dev_fields(v) for v in value]
    return value
