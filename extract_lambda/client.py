"""spotipy set up for an unattended, time-boxed run.

- Token cache in memory (``MemoryCacheHandler``): spotipy's default writes ``.cache`` in the working
  directory, which is read-only on Lambda.
- No retries inside spotipy/urllib3 (``retries=0``, ``status_retries=0`` and a session whose adapter never
  retries): urllib3 would honour ``Retry-After`` without bound. The extractor retries itself
  (:class:`ApiCaller`), waiting at most the time left.
- A timeout on every request, the token request included; each call's timeout is also capped by the time
  left, so nothing outlives the deadline by more than a moment.
- Two auth flows: client credentials (extended-quota apps) and a stored refresh token (authorization code
  flow; the only way a Development Mode app reads playlist items, and only its user's playlists).
"""

from __future__ import annotations

import email.utils
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

import requests
import spotipy
from requests.adapters import HTTPAdapter
from spotipy.cache_handler import MemoryCacheHandler
from spotipy.oauth2 import SpotifyClientCredentials, SpotifyOAuth

from extract_lambda.logs import log_event, quiet_http_debug_logs

SPOTIFY_TOKEN_URL = "https://accounts.spotify.com/api/token"
AUTH_CLIENT_CREDENTIALS = "client_credentials"
AUTH_REFRESH_TOKEN = "refresh_token"
# Scopes a stored refresh token needs to read the user's private and collaborative playlists.
USER_SCOPE = "playlist-read-private playlist-read-collaborative"
# The redirect URI is never visited (no browser): the refresh grant does not use it.
UNUSED_REDIRECT_URI = "http://127.0.0.1:8888/callback"

logger = logging.getLogger("extract_lambda.client")
T = TypeVar("T")


class ExtractError(Exception):
    """A failure with a machine-readable ``reason`` and a message a user can act on."""

    def __init__(self, reason: str, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.status = status


class Deadline:
    """Time left before an absolute ``time.monotonic()`` instant (None: no deadline)."""

    def __init__(self, at: float | None) -> None:
        self.at = at

    def left(self) -> float:
        return float("inf") if self.at is None else self.at - time.monotonic()


def build_session() -> requests.Session:
    """A requests session that never retries by itself (no sleeping behind our back)."""
    session = requests.Session()
    adapter = HTTPAdapter(max_retries=0)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def build_spotify(
    *,
    client_id: str,
    client_secret: str,
    refresh_token: str | None,
    api_base_url: str,
    token_url: str,
    requests_timeout: float,
) -> tuple[spotipy.Spotify, str]:
    """A spotipy client for the chosen auth flow, and the flow's name (as recorded in the envelope)."""
    quiet_http_debug_logs()
    auth: SpotifyClientCredentials | SpotifyOAuth
    if refresh_token:
        # Seed the cache with an expired token: spotipy then runs the refresh grant on first use, and
        # again whenever the access token expires. No browser, no redirect, no file.
        cache = MemoryCacheHandler(
            token_info={
                "access_token": "",
                "token_type": "Bearer",
                "expires_at": 0,
                "expires_in": 0,
                "scope": USER_SCOPE,
                "refresh_token": refresh_token,
            }
        )
        auth = SpotifyOAuth(
            client_id=client_id,
            client_secret=client_secret,
            redirect_uri=UNUSED_REDIRECT_URI,
            scope=USER_SCOPE,
            cache_handler=cache,
            open_browser=False,
            requests_session=build_session(),
            requests_timeout=requests_timeout,
        )
        flow = AUTH_REFRESH_TOKEN
    else:
        auth = SpotifyClientCredentials(
            client_id=client_id,
            client_secret=client_secret,
            cache_handler=MemoryCacheHandler(),
            requests_session=build_session(),
            requests_timeout=requests_timeout,
        )
        flow = AUTH_CLIENT_CREDENTIALS
    # spotipy reads the token URL from this class attribute; an instance attribute overrides it.
    auth.OAUTH_TOKEN_URL = token_url
    client = spotipy.Spotify(
        auth_manager=auth,
        requests_session=build_session(),
        requests_timeout=requests_timeout,
        retries=0,
        status_retries=0,
        backoff_factor=0,
    )
    client.prefix = api_base_url if api_base_url.endswith("/") else api_base_url + "/"
    return client, flow


def retry_after_seconds(headers: Any, default: float = 1.0) -> float:
    """Seconds from a ``Retry-After`` header (delta-seconds or an HTTP date); ``default`` if absent."""
    value = (headers or {}).get("Retry-After") if headers is not None else None
    if value is None:
        return default
    try:
        return max(0.0, float(value))
    except (TypeError, ValueError):
        pass
    try:
        when = email.utils.parsedate_to_datetime(str(value))
    except (TypeError, ValueError):
        return default
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


class ApiCaller:
    """Runs spotipy calls with our retry policy, bounded by a deadline.

    - 429: wait ``Retry-After`` if it fits in the time left, else fail with reason ``rate_limited``;
    - 5xx and connection errors/timeouts: exponential backoff, at most ``max_attempts`` tries, never
      sleeping past the deadline;
    - other HTTP errors: raised at once as :class:`spotipy.SpotifyException`, for the caller to explain.
    """

    def __init__(
        self,
        client: spotipy.Spotify,
        deadline: Deadline,
        *,
        requests_timeout: float,
        max_attempts: int,
        backoff_seconds: float,
        max_backoff_seconds: float,
        max_rate_limit_waits: int = 5,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.client = client
        self.deadline = deadline
        self.requests_timeout = requests_timeout
        self.max_attempts = max_attempts
        self.backoff_seconds = backoff_seconds
        self.max_backoff_seconds = max_backoff_seconds
        self.max_rate_limit_waits = max_rate_limit_waits
        self.sleep = sleep
        self.calls = 0

    def _cap_timeouts(self, left: float) -> None:
        timeout = max(0.5, min(self.requests_timeout, left))
        self.client.requests_timeout = timeout
        auth = self.client.auth_manager
        if auth is not None:
            auth.requests_timeout = timeout

    def call(self, what: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        failures = 0
        waits = 0
        while True:
            left = self.deadline.left()
            if left <= 0:
                raise ExtractError("deadline", f"the deadline was reached before {what}: not fetched")
            self._cap_timeouts(left)
            self.calls += 1
            try:
                return fn(*args, **kwargs)
            except spotipy.SpotifyException as error:
                status = error.http_status
                if status == 429:
                    wait = retry_after_seconds(error.headers)
                    left = self.deadline.left()
                    if wait >= left or waits >= self.max_rate_limit_waits:
                        raise ExtractError(
                            "rate_limited",
                            f"rate limited (429) on {what}: Spotify asked to wait {wait:.0f} s (Retry-After) "
                            f"but only {max(left, 0):.0f} s were left before the deadline"
                            + (f" after {waits} waits" if waits else "")
                            + ": not fetched; the next scheduled run will pick it up",
                            429,
                        ) from None
                    waits += 1
                    log_event(logger, "rate_limited", logging.WARNING, what=what, retry_after_s=wait)
                    self.sleep(wait)
                    continue
                if status is not None and status >= 500:
                    failures += 1
                    if failures >= self.max_attempts:
                        raise ExtractError(
                            "server_error",
                            f"Spotify answered {status} on {what} {failures} times in a row: gave up",
                            status,
                        ) from None
                    self._backoff(what, failures, f"HTTP {status}")
                    continue
                raise
            except (requests.ConnectionError, requests.Timeout) as error:
                failures += 1
                if failures >= self.max_attempts:
                    raise ExtractError(
                        "connection",
                        f"could not reach Spotify for {what} after {failures} attempts: {type(error).__name__}",
                    ) from None
                self._backoff(what, failures, type(error).__name__)

    def _backoff(self, what: str, failures: int, cause: str) -> None:
        wait = min(self.max_backoff_seconds, self.backoff_seconds * 2 ** (failures - 1))
        left = self.deadline.left()
        if wait >= left:
            raise ExtractError(
                "deadline",
                f"{cause} on {what}, and the {max(left, 0):.1f} s left are too few to retry: not fetched",
            )
        log_event(logger, "retry", logging.WARNING, what=what, cause=cause, attempt=failures, wait_s=wait)
        self.sleep(wait)
