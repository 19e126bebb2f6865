"""Fetch playlists from the Spotify Web API and land one raw envelope per playlist (DESIGN.md s.2).

Per playlist: Get Playlist; every page of ``/playlists/{id}/items`` (limit <= 50, following ``next``);
the full artist objects of the tracks' artists (batch ``GET /artists?ids=`` where the app may, else one
``GET /artists/{id}`` per artist; each artist fetched at most once per run); then one atomic landing at the
deterministic key. A failing playlist never stops the others; :class:`ExtractReport` names each failure
with the reason and what to do about it.

Incremental behaviour: every run is one observation per playlist at ``now()``. The key is a function of
(playlist, instant, snapshot_id), so a run repeated at the same instant finds its objects already there
and never overwrites them (``created=False``); a later run adds new objects. Nothing is ever updated.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, NamedTuple

import spotipy
from spotipy.oauth2 import SpotifyOauthError

from extract_lambda.client import (
    AUTH_CLIENT_CREDENTIALS,
    SPOTIFY_TOKEN_URL,
    ApiCaller,
    Deadline,
    ExtractError,
    build_spotify,
)
from extract_lambda.landing import SPOTIFY_API_BASE_URL, Lander, build_envelope, encode_envelope, raw_key
from extract_lambda.logs import log_event

__all__ = [
    "ExtractError",
    "ExtractReport",
    "ExtractSettings",
    "FailedPlaylist",
    "LandedPlaylist",
    "extract_playlists",
    "normalize_playlist_id",
]

logger = logging.getLogger("extract_lambda.extractor")

MAX_PAGE_LIMIT = 50
MAX_ARTIST_BATCH = 50
ITEM_TYPES = ("track", "episode")
_BASE62 = re.compile(r"^[0-9A-Za-z]{1,64}$")
_PLAYLIST_REF = re.compile(
    r"^(?:spotify:playlist:|https?://open\.spotify\.com/(?:intl-[\w-]+/)?playlist/)([^?/#]+)"
)


def normalize_playlist_id(value: str) -> str:
    """A playlist id from an id, a ``spotify:playlist:`` URI or an open.spotify.com URL.

    Raises:
        ValueError: naming the value when it is none of these.
    """
    text = value.strip()
    match = _PLAYLIST_REF.match(text)
    candidate = match.group(1) if match else text
    if not _BASE62.match(candidate):
        raise ValueError(
            f"not a Spotify playlist id, URI or URL: {value!r} (expected base62 like 37i9dQZF1DXcBWIGoYBM5M)"
        )
    return candidate


@dataclass(frozen=True)
class ExtractSettings:
    """Everything one extract run needs. Secrets are excluded from ``repr``."""

    playlist_ids: tuple[str, ...]
    client_id: str
    client_secret: str = field(repr=False)
    refresh_token: str | None = field(default=None, repr=False)
    market: str | None = "US"
    api_base_url: str = SPOTIFY_API_BASE_URL
    token_url: str = SPOTIFY_TOKEN_URL
    requests_timeout: float = 10.0
    page_limit: int = MAX_PAGE_LIMIT
    max_attempts: int = 4
    backoff_seconds: float = 0.5
    max_backoff_seconds: float = 8.0
    enrich_artists: bool = True

    def __post_init__(self) -> None:
        if not self.playlist_ids:
            raise ValueError("no playlist ids to extract")
        # Normalized and de-duplicated in order: the same playlist twice would be the same observation.
        ids = tuple(dict.fromkeys(normalize_playlist_id(p) for p in self.playlist_ids))
        object.__setattr__(self, "playlist_ids", ids)
        if not self.client_id or not self.client_secret:
            raise ValueError("the Spotify client id and client secret are both required")
        if not 1 <= self.page_limit <= MAX_PAGE_LIMIT:
            raise ValueError(
                f"page_limit must be 1..{MAX_PAGE_LIMIT} (Get Playlist Items), got {self.page_limit}"
            )
        if self.requests_timeout <= 0:
            raise ValueError(f"requests_timeout must be > 0, got {self.requests_timeout}")

    @property
    def auth_flow(self) -> str:
        return "refresh_token" if self.refresh_token else AUTH_CLIENT_CREDENTIALS

    @property
    def secrets(self) -> tuple[str, ...]:
        """The values that must never appear in any output."""
        return tuple(s for s in (self.client_secret, self.refresh_token) if s)


class LandedPlaylist(NamedTuple):
    playlist_id: str
    uri: str
    created: bool  # False: the object already existed (same instant, same snapshot) and was kept
    items: int
    pages: int


class FailedPlaylist(NamedTuple):
    playlist_id: str
    reason: str  # not_found, forbidden, unauthorized, rate_limited, deadline, server_error, connection, ...
    message: str


@dataclass
class ExtractReport:
    """What one run landed and what it could not, with why."""

    landed: list[LandedPlaylist] = field(default_factory=list)
    failed: list[FailedPlaylist] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    artists_fetched: int = 0
    api_calls: int = 0

    @property
    def ok(self) -> bool:
        return not self.failed

    def summary(self) -> str:
        total = len(self.landed) + len(self.failed)
        new = sum(1 for p in self.landed if p.created)
        lines = [
            f"extracted {len(self.landed)} of {total} playlists "
            f"({new} new objects, {len(self.landed) - new} already present), "
            f"{self.artists_fetched} artists fetched, {self.api_calls} API calls"
        ]
        if self.failed:
            lines.append(f"{len(self.failed)} failed:")
            lines.extend(f"  - {p.playlist_id}: {p.reason}: {p.message}" for p in self.failed)
        lines.extend(f"  warning: {w}" for w in self.warnings)
        return "\n".join(lines)

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "landed": [p._asdict() for p in self.landed],
            "failed": [p._asdict() for p in self.failed],
            "warnings": list(self.warnings),
            "artists_fetched": self.artists_fetched,
            "api_calls": self.api_calls,
        }


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
    """Full artist objects, each fetched at most once per run across playlists.

    The batch call is tried first; its first 403 (Development Mode apps lost it) switches the rest of the
    run to one ``GET /artists/{id}`` per artist.
    """

    def __init__(self, caller: ApiCaller) -> None:
        self.caller = caller
        self.cache: dict[str, dict[str, Any] | None] = {}
        self.batch_allowed = True
        self.fetched = 0

    def artists_for(self, artist_ids: list[str]) -> tuple[list[dict[str, Any]], list[str]]:
        """(full objects in the given order, ids that could not be fetched this run)."""
        missing_ids: list[str] = []
        new_ids = [a for a in artist_ids if a not in self.cache]
        try:
            self._fetch(new_ids)
        except ExtractError as error:
            missing_ids = [a for a in new_ids if a not in self.cache]
            log_event(
                logger, "artists_incomplete", logging.WARNING, reason=error.reason, message=error.message,
                missing=len(missing_ids),
            )  # fmt: skip
        found = [obj for a in artist_ids if (obj := self.cache.get(a)) is not None]
        return found, missing_ids

    def _fetch(self, new_ids: list[str]) -> None:
        for start in range(0, len(new_ids), MAX_ARTIST_BATCH):
            chunk = new_ids[start : start + MAX_ARTIST_BATCH]
            if self.batch_allowed:
                try:
                    answer = self.caller.call("GET /artists?ids=", self.caller.client.artists, chunk)
                except spotipy.SpotifyException as error:
                    if error.http_status != 403:
                        raise _explain(error, "GET /artists?ids=", None) from None
                    self.batch_allowed = False
                    log_event(logger, "artists_batch_forbidden", logging.INFO, fallback="GET /artists/{id}")
                else:
                    objs = (answer or {}).get("artists") or []
                    by_id = {o["id"]: o for o in objs if isinstance(o, dict) and o.get("id")}
                    for artist_id in chunk:
                        self.cache[artist_id] = by_id.get(artist_id)
                    self.fetched += len(by_id)
                    continue
            for artist_id in chunk:
                try:
                    obj = self.caller.call(f"GET /artists/{artist_id}", self.caller.client.artist, artist_id)
                except spotipy.SpotifyException as error:
                    if error.http_status in (400, 404):
                        self.cache[artist_id] = None
                        continue
                    raise _explain(error, f"GET /artists/{artist_id}", None) from None
                self.cache[artist_id] = obj if isinstance(obj, dict) else None
                self.fetched += 1


def _explain(error: spotipy.SpotifyException, what: str, auth_flow: str | None) -> ExtractError:
    """An HTTP error as a message a user can act on."""
    status = error.http_status
    detail = str(error.msg).split("\n")[-1].strip() if error.msg else ""
    if status == 404:
        return ExtractError(
            "not_found",
            f"not found (404) on {what}. Spotify-owned editorial and algorithmic playlists (such as "
            "'Top 50 - Global' and other 37i9dQZ... ids) are unavailable to apps created after 2024-11-27; "
            "otherwise check the playlist id",
            404,
        )
    if status == 403:
        if auth_flow == AUTH_CLIENT_CREDENTIALS:
            hint = (
                "client-credentials tokens carry no user, so a Development Mode app cannot read playlist "
                "items with them: set a refresh token of the playlist's owner or collaborator "
                "(SPOTIFY_REFRESH_TOKEN locally, refresh_token in the Lambda's secret), or use an app with "
                "extended quota"
            )
        else:
            hint = (
                "the authorizing user neither owns nor collaborates on this playlist: use a refresh token of "
                "its owner or a collaborator, or an app with extended quota"
            )
        return ExtractError(
            "forbidden",
            f"forbidden (403) on {what}. A Development Mode app reads playlist items only for playlists its "
            f"user owns or collaborates on; {hint}",
            403,
        )
    if status == 401:
        return ExtractError(
            "unauthorized",
            f"unauthorized (401) on {what}: the access token was rejected ({detail or 'no detail'}); check "
            "the app's client id and secret, and that the refresh token has not been revoked",
            401,
        )
    return ExtractError("http_error", f"Spotify answered {status} on {what}: {detail or error.msg}", status)


def _explain_oauth(error: SpotifyOauthError) -> ExtractError:
    code = getattr(error, "error", None) or "unknown"
    description = getattr(error, "error_description", None) or ""
    if code == "invalid_grant":
        return ExtractError(
            "unauthorized",
            f"the token endpoint refused the refresh token ({code}: {description}): it is invalid, expired or "
            "revoked; authorize the app again (authorization code flow) and store the new refresh token",
        )
    if code in ("invalid_client", "unauthorized_client", "invalid_request", "unsupported_grant_type"):
        return ExtractError(
            "unauthorized",
            f"the token endpoint rejected the app's credentials ({code}: {description}); check the client id "
            "and client secret (SPOTIFY_CLIENT_ID/SPOTIFY_CLIENT_SECRET locally, the Lambda's secret on AWS)",
        )
    return ExtractError("token_error", f"the token request failed ({code}: {description or 'no detail'})")


def _fetch_playlist(
    caller: ApiCaller, settings: ExtractSettings, playlist_id: str
) -> tuple[dict[str, Any], list[dict[str, Any]], int]:
    """(Get Playlist object, every item in order, pages fetched)."""
    client = caller.client
    what = f"GET /playlists/{playlist_id}"
    try:
        playlist = caller.call(
            what, client.playlist, playlist_id, market=settings.market, additional_types=ITEM_TYPES
        )
        if not isinstance(playlist, dict) or not playlist.get("id"):
            raise ExtractError("bad_response", f"{what} returned no playlist object")
        items: list[dict[str, Any]] = []
        pages = 0
        what = f"GET /playlists/{playlist_id}/items"
        page = caller.call(
            what,
            client.playlist_items,
            playlist_id,
            limit=settings.page_limit,
            offset=0,
            market=settings.market,
            additional_types=ITEM_TYPES,
        )
        seen_urls: set[str] = set()
        while True:
            if not isinstance(page, dict) or not isinstance(page.get("items"), list):
                raise ExtractError("bad_response", f"{what} page {pages + 1} has no 'items' array")
            pages += 1
            items.extend(page["items"])
            next_url = page.get("next")
            if not next_url:
                break
            if next_url in seen_urls:
                raise ExtractError("bad_response", f"{what} paging loops back to {next_url}")
            seen_urls.add(next_url)
            what = f"GET /playlists/{playlist_id}/items (page {pages + 1})"
            page = caller.call(what, client.next, page)
        return playlist, items, pages
    except spotipy.SpotifyException as error:
        raise _explain(error, what, settings.auth_flow) from None


def extract_playlists(
    settings: ExtractSettings,
    lander: Lander,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
    deadline: float | None = None,
    *,
    sleep: Callable[[float], None] = time.sleep,
) -> ExtractReport:
    """Extract every playlist of ``settings`` and land one envelope each.

    Args:
        settings: what to fetch, and how.
        lander: where to land (LocalLander or S3Lander).
        now: the clock; ``extracted_at`` (and so the ``ingest_date`` partition) of each observation.
        deadline: an absolute ``time.monotonic()`` instant after which nothing more is attempted (the
            Lambda's remaining time; a local budget); waits for ``Retry-After`` never go past it.
        sleep: how to wait (between retries).

    Returns:
        The report; it never raises for one playlist's failure (callers decide: the CLI exits non-zero,
        the Lambda raises).
    """
    report = ExtractReport()
    client, auth_flow = build_spotify(
        client_id=settings.client_id,
        client_secret=settings.client_secret,
        refresh_token=settings.refresh_token,
        api_base_url=settings.api_base_url,
        token_url=settings.token_url,
        requests_timeout=settings.requests_timeout,
    )
    caller = ApiCaller(
        client,
        Deadline(deadline),
        requests_timeout=settings.requests_timeout,
        max_attempts=settings.max_attempts,
        backoff_seconds=settings.backoff_seconds,
        max_backoff_seconds=settings.max_backoff_seconds,
        sleep=sleep,
    )
    enricher = ArtistEnricher(caller)
    for playlist_id in settings.playlist_ids:
        started = time.monotonic()
        calls_before, fetched_before = caller.calls, enricher.fetched
        try:
            extracted_at = now()
            playlist, items, pages = _fetch_playlist(caller, settings, playlist_id)
            artists: list[dict[str, Any]] = []
            missing: list[str] = []
            if settings.enrich_artists:
                artists, missing = enricher.artists_for(track_artist_ids(items))
            envelope = build_envelope(
                playlist=playlist,
                items=items,
                artists=artists,
                extracted_at=extracted_at,
                market=settings.market,
                auth_flow=auth_flow,
                base_url=settings.api_base_url,
            )
            key = raw_key(playlist_id, extracted_at, playlist.get("snapshot_id"))
            result = lander.land(key, encode_envelope(envelope))
        except SpotifyOauthError as error:
            failure = _explain_oauth(error)
            _record_failure(report, playlist_id, failure, started, caller.calls - calls_before)
            continue
        except ExtractError as error:
            _record_failure(report, playlist_id, error, started, caller.calls - calls_before)
            continue
        except Exception as error:  # one playlist's surprise must not stop the others
            failure = ExtractError("unexpected", f"{type(error).__name__}: {error}")
            _record_failure(report, playlist_id, failure, started, caller.calls - calls_before)
            logger.debug("unexpected failure", exc_info=True)
            continue
        if missing:
            report.warnings.append(
                f"{playlist_id}: {len(missing)} artists could not be fetched for enrichment (landed without them)"
            )
        report.landed.append(LandedPlaylist(playlist_id, result.uri, result.created, len(items), pages))
        log_event(
            logger,
            "playlist_landed" if result.created else "playlist_already_landed",
            playlist_id=playlist_id,
            status="landed" if result.created else "already_exists",
            uri=result.uri,
            snapshot_id=playlist.get("snapshot_id"),
            extracted_at=envelope["extracted_at"],
            items=len(items),
            pages=pages,
            artists=len(artists),
            artists_fetched=enricher.fetched - fetched_before,
            artists_missing=len(missing),
            api_calls=caller.calls - calls_before,
            bytes=result.size,
            seconds=round(time.monotonic() - started, 3),
            auth_flow=auth_flow,
        )
    report.artists_fetched = enricher.fetched
    report.api_calls = caller.calls
    return report


def _record_failure(
    report: ExtractReport, playlist_id: str, error: ExtractError, started: float, api_calls: int
) -> None:
    report.failed.append(FailedPlaylist(playlist_id, error.reason, error.message))
    log_event(
        logger,
        "playlist_failed",
        logging.ERROR,
        playlist_id=playlist_id,
        status="failed",
        reason=error.reason,
        http_status=error.status,
        message=error.message,
        api_calls=api_calls,
        seconds=round(time.monotonic() - started, 3),
    )
