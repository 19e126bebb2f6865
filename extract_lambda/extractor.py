"""Fetch playlists from the Spotify Web API and land one raw envelope per playlist (docs/design.md s.2).

Per playlist: Get Playlist (with ``fields``, so without its embedded first page of items) and every page
of ``/playlists/{id}/items`` (limit <= 50, following ``next``: :mod:`extract_lambda.fetch`); the full
objects of the tracks' artists, from the artist cache when fetched recently
(:mod:`extract_lambda.enrichment`); then one atomic landing at the deterministic key. Playlists run on a
few worker threads, every request has a wall-clock cap and nothing runs past the deadline, so one stalled
or failing playlist never stops the others; the :class:`ExtractReport` names each failure with the reason
and what to do about it.

Incremental behaviour: every run is one observation per playlist at ``now()``. The key is a function of
(playlist, instant, snapshot_id), so a run repeated at the same instant finds its objects already there
and never overwrites them (``created=False``); a later run adds new objects. Nothing is ever updated.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from spotipy.oauth2 import SpotifyOauthError

from extract_lambda.bounded_http import BoundedSession, Endpoint
from extract_lambda.client import (
    AUTH_CLIENT_CREDENTIALS,
    SPOTIFY_TOKEN_URL,
    ApiCaller,
    Auth,
    Deadline,
    ExtractError,
    RateGate,
    build_auth,
    build_client,
)
from extract_lambda.enrichment import (
    DEFAULT_WINDOW_DAYS,
    ArtistCache,
    ArtistEnricher,
    Enrichment,
    track_artist_ids,
)
from extract_lambda.fetch import MAX_PAGE_LIMIT, explain_oauth, fetch_playlist
from extract_lambda.landing import (
    SPOTIFY_API_BASE_URL,
    Lander,
    LandResult,
    build_envelope,
    encode_envelope,
    raw_key,
)
from extract_lambda.logs import log_event
from extract_lambda.report import ExtractReport, FailedPlaylist, LandedPlaylist
from extract_lambda.state import StateStore

logger = logging.getLogger("extract_lambda.extractor")

# A handful of requests in flight keeps far inside Spotify's rolling 30 s rate window; a 429 pauses all.
MAX_CONCURRENCY = 8
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
    requests_timeout: float = 10.0  # connect, and each socket read (restarts with every byte)
    request_cap_seconds: float = 30.0  # one request, connect to last byte (wall clock)
    max_concurrency: int = 4  # playlists extracted at once
    artist_cache_days: float = DEFAULT_WINDOW_DAYS
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
        if not self.api_base_url.endswith("/"):  # the API's path prefix: /v1/ must not admit /v1foo
            object.__setattr__(self, "api_base_url", self.api_base_url + "/")
        if not self.client_id or not self.client_secret:
            raise ValueError("the Spotify client id and client secret are both required")
        for name, ok, rule in (
            (
                "page_limit",
                1 <= self.page_limit <= MAX_PAGE_LIMIT,
                f"1..{MAX_PAGE_LIMIT} (Get Playlist Items)",
            ),
            ("requests_timeout", self.requests_timeout > 0, "> 0"),
            ("request_cap_seconds", self.request_cap_seconds > 0, "> 0"),
            ("max_concurrency", 1 <= self.max_concurrency <= MAX_CONCURRENCY, f"1..{MAX_CONCURRENCY}"),
            ("artist_cache_days", self.artist_cache_days >= 0, ">= 0"),
        ):
            if not ok:
                raise ValueError(f"{name} must be {rule}, got {getattr(self, name)}")

    @property
    def auth_flow(self) -> str:
        return "refresh_token" if self.refresh_token else AUTH_CLIENT_CREDENTIALS

    @property
    def secrets(self) -> tuple[str, ...]:
        """The values that must never appear in any output."""
        return tuple(s for s in (self.client_secret, self.refresh_token) if s)


@dataclass
class _Run:
    """What the worker threads of one run share: the auth manager, the rate gate, the enricher."""

    settings: ExtractSettings
    lander: Lander
    now: Callable[[], datetime]
    deadline: Deadline
    sleep: Callable[[float], None]
    auth: Auth
    auth_flow: str
    enricher: ArtistEnricher
    gate: RateGate = field(default_factory=RateGate)
    callers: list[ApiCaller] = field(default_factory=list)
    _local: threading.local = field(default_factory=threading.local)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def caller(self) -> ApiCaller:
        """This worker thread's caller: its own spotipy client and bounded session, the run's auth."""
        caller: ApiCaller | None = getattr(self._local, "caller", None)
        if caller is None:
            settings = self.settings
            client = build_client(
                self.auth,
                api_base_url=settings.api_base_url,
                requests_timeout=settings.requests_timeout,
                session=BoundedSession(
                    self.deadline, settings.request_cap_seconds, Endpoint.of(settings.api_base_url)
                ),
            )
            caller = ApiCaller(
                client,
                self.deadline,
                max_attempts=settings.max_attempts,
                backoff_seconds=settings.backoff_seconds,
                max_backoff_seconds=settings.max_backoff_seconds,
                gate=self.gate,
                sleep=self.sleep,
            )
            self._local.caller = caller
            with self._lock:
                self.callers.append(caller)
        return caller

    def extract_one(self, playlist_id: str) -> tuple[LandedPlaylist | FailedPlaylist, str | None]:
        """Fetch, enrich and land one playlist; never raises (a failure is returned)."""
        caller = self.caller()
        started = time.monotonic()
        calls_before, fetched_before = caller.calls, self.enricher.fetched
        try:
            landing = self._fetch_and_land(caller, playlist_id)
        except SpotifyOauthError as error:
            return _failed(playlist_id, explain_oauth(error), started, caller.calls - calls_before), None
        except ExtractError as error:
            return _failed(playlist_id, error, started, caller.calls - calls_before), None
        except Exception as error:  # one playlist's surprise must not stop the others
            logger.debug("unexpected failure", exc_info=True)
            failure = ExtractError("unexpected", f"{type(error).__name__}: {error}")
            return _failed(playlist_id, failure, started, caller.calls - calls_before), None
        fetched = self.enricher.fetched - fetched_before
        self._log_landed(
            landing, api_calls=caller.calls - calls_before, artists_fetched=fetched, started=started
        )
        warning = None
        if landing.enrichment.missing:
            warning = (
                f"{playlist_id}: {len(landing.enrichment.missing)} artists could not be fetched for enrichment "
                "(landed without them)"
            )
        result = landing.result
        return LandedPlaylist(
            playlist_id, result.uri, result.created, len(landing.items), landing.pages
        ), warning

    def _fetch_and_land(self, caller: ApiCaller, playlist_id: str) -> _Landing:
        """Fetch the playlist and its items, enrich them with their artists, land the envelope."""
        extracted_at = self.now()
        settings = self.settings
        playlist, items, pages, reads = fetch_playlist(
            caller,
            playlist_id,
            page_limit=settings.page_limit,
            market=settings.market,
            auth_flow=settings.auth_flow,
        )
        enrichment = Enrichment([], {}, [])
        if self.settings.enrich_artists:
            enrichment = self.enricher.artists_for(caller, track_artist_ids(items))
        envelope = build_envelope(
            playlist=playlist,
            items=items,
            artists=enrichment.artists,
            artists_fetched_at=enrichment.fetched_at,
            extracted_at=extracted_at,
            market=self.settings.market,
            auth_flow=self.auth_flow,
            base_url=self.settings.api_base_url,
        )
        key = raw_key(playlist_id, extracted_at, playlist.get("snapshot_id"))
        result = self.lander.land(key, encode_envelope(envelope))
        return _Landing(playlist_id, playlist, items, pages, reads, enrichment, envelope, result)

    def _log_landed(self, landing: _Landing, *, api_calls: int, artists_fetched: int, started: float) -> None:
        result = landing.result
        log_event(
            logger,
            "playlist_landed" if result.created else "playlist_already_landed",
            playlist_id=landing.playlist_id,
            status="landed" if result.created else "already_exists",
            uri=result.uri,
            snapshot_id=landing.playlist.get("snapshot_id"),
            extracted_at=landing.envelope["extracted_at"],
            items=len(landing.items),
            pages=landing.pages,
            reads=landing.reads,
            artists=len(landing.enrichment.artists),
            artists_fetched=artists_fetched,
            artists_missing=len(landing.enrichment.missing),
            api_calls=api_calls,
            bytes=result.size,
            seconds=round(time.monotonic() - started, 3),
            auth_flow=self.auth_flow,
        )


@dataclass(frozen=True)
class _Landing:
    """One playlist fetched, enriched and landed."""

    playlist_id: str
    playlist: dict[str, Any]
    items: list[dict[str, Any]]
    pages: int
    reads: int
    enrichment: Enrichment
    envelope: dict[str, Any]
    result: LandResult


def extract_playlists(
    settings: ExtractSettings,
    lander: Lander,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
    deadline: float | None = None,
    *,
    sleep: Callable[[float], None] = time.sleep,
    state: StateStore | None = None,
    on_token_rotated: Callable[[str], None] | None = None,
) -> ExtractReport:
    """Extract every playlist of ``settings`` and land one envelope each.

    Args:
        settings: what to fetch, and how.
        lander: where to land (LocalLander or S3Lander).
        now: the clock; ``extracted_at`` (and so the ``ingest_date`` partition) of each observation, and
            the age of the artist cache's entries.
        deadline: an absolute ``time.monotonic()`` instant after which nothing more is attempted (the
            Lambda's remaining time; a local budget); no request and no wait goes past it.
        sleep: how to wait (between retries).
        state: where the artist cache lives (None: no cache, every artist is fetched).
        on_token_rotated: called with the new refresh token when the token endpoint rotates it.

    Returns:
        The report; it never raises for one playlist's failure (callers decide: the CLI exits non-zero,
        the Lambda fails for retryable failures only).
    """
    run_deadline = Deadline(deadline)
    auth, auth_flow = _authorize(settings, run_deadline, on_token_rotated)
    cache = _load_artist_cache(settings, state, now())
    run = _Run(settings, lander, now, run_deadline, sleep, auth, auth_flow, ArtistEnricher(cache, now))
    outcomes = _extract_each(run)
    report = _report(outcomes)
    _save_artist_cache(cache, state, report)
    report.artists_fetched = run.enricher.fetched
    report.artists_from_cache = run.enricher.cache_hits
    report.api_calls = sum(c.calls for c in run.callers)
    return report


def _authorize(
    settings: ExtractSettings, deadline: Deadline, on_token_rotated: Callable[[str], None] | None
) -> tuple[Auth, str]:
    """The run's one auth manager (shared by every worker thread) and its flow's name."""
    return build_auth(
        client_id=settings.client_id,
        client_secret=settings.client_secret,
        refresh_token=settings.refresh_token,
        token_url=settings.token_url,
        requests_timeout=settings.requests_timeout,
        session=BoundedSession(deadline, settings.request_cap_seconds, Endpoint.of(settings.token_url)),
        on_rotated=on_token_rotated,
    )


def _load_artist_cache(settings: ExtractSettings, state: StateStore | None, now: datetime) -> ArtistCache:
    """The artists fetched within the cache window (an empty cache when not enriching)."""
    window = timedelta(days=settings.artist_cache_days)
    return ArtistCache.load(state if settings.enrich_artists else None, window, now)


def _extract_each(run: _Run) -> list[tuple[LandedPlaylist | FailedPlaylist, str | None]]:
    """Every playlist's outcome and warning, in the settings' order, on a few worker threads."""
    settings = run.settings
    workers = min(settings.max_concurrency, len(settings.playlist_ids))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="extract") as pool:
        return list(pool.map(run.extract_one, settings.playlist_ids))


def _report(outcomes: list[tuple[LandedPlaylist | FailedPlaylist, str | None]]) -> ExtractReport:
    report = ExtractReport()
    for outcome, warning in outcomes:
        if isinstance(outcome, LandedPlaylist):
            report.landed.append(outcome)
        else:
            report.failed.append(outcome)
        if warning:
            report.warnings.append(warning)
    return report


def _save_artist_cache(cache: ArtistCache, state: StateStore | None, report: ExtractReport) -> None:
    try:
        cache.save(state)
    except Exception as error:  # the cache only saves calls: never fail the run for it
        report.warnings.append(f"the artist cache could not be saved ({type(error).__name__}: {error})")


def _failed(playlist_id: str, error: ExtractError, started: float, api_calls: int) -> FailedPlaylist:
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
    return FailedPlaylist(playlist_id, error.reason, error.message)
