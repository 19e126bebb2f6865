"""spotipy set up for an unattended, time-boxed run.

- Token cache in memory (:class:`RotationAwareCache`, a ``MemoryCacheHandler``): spotipy's default writes
  ``.cache`` in the working directory, which is read-only on Lambda. It also notices when the token
  endpoint hands out a new refresh token (rotation) and calls back, so that it can be stored.
- No retries inside spotipy/urllib3 (``retries=0``, ``status_retries=0`` and a session whose adapter never
  retries): urllib3 would honour ``Retry-After`` without bound. The extractor retries itself
  (:class:`ApiCaller`), waiting at most the time left.
- A wall-clock bound on every request, the token request included (:class:`~extract_lambda.bounded_http.BoundedSession`): connect plus
  the whole body within ``request_cap_seconds`` and never past the run's deadline.
- One auth manager per run, shared by the worker threads (each has its own ``Spotify`` client and
  session); token requests are serialized, so concurrent workers never refresh twice.
- Two auth flows: client credentials (extended-quota apps) and a stored refresh token (authorization code
  flow; the only way a Development Mode app reads playlist items, and only its user's playlists).
"""

from __future__ import annotations

import email.utils
import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeAlias, TypeVar

import requests
import spotipy
from spotipy.cache_handler import MemoryCacheHandler
from spotipy.oauth2 import SpotifyClientCredentials, SpotifyOAuth

from extract_lambda.bounded_http import Deadline, ForeignLink, RequestBudgetExceeded
from extract_lambda.logs import log_event, quiet_http_debug_logs

__all__ = ["ApiCaller", "Deadline", "ExtractError", "RateGate", "build_auth", "build_client"]

SPOTIFY_TOKEN_URL = "https://accounts.spotify.com/api/token"
AUTH_CLIENT_CREDENTIALS = "client_credentials"
AUTH_REFRESH_TOKEN = "refresh_token"
# Scopes a stored refresh token needs to read the user's private and collaborative playlists.
USER_SCOPE = "playlist-read-private playlist-read-collaborative"
# The redirect URI is never visited (no browser): the refresh grant does not use it.
UNUSED_REDIRECT_URI = "http://127.0.0.1:8888/callback"

logger = logging.getLogger("extract_lambda.client")
T = TypeVar("T")
Auth: TypeAlias = SpotifyClientCredentials | SpotifyOAuth


class ExtractError(Exception):
    """A failure with a machine-readable ``reason`` and a message a user can act on."""

    def __init__(self, reason: str, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.status = status


TOKEN_NOT_STORED = "token_not_stored"


class RotationAwareCache(MemoryCacheHandler):
    """An in-memory token cache that stores a rotated refresh token (``on_rotated(new)``) before using it.

    spotipy's ``SpotifyOAuth.refresh_access_token`` saves the token response through the cache handler,
    keeping the old refresh token only when the response carries none; so a different ``refresh_token``
    saved here is a rotation. It is handed to ``on_rotated`` first, and the new access token is cached
    only once that returned: nothing runs on a token whose successor is not stored. If storing fails, the
    failure (:data:`TOKEN_NOT_STORED`, permanent) is kept and raised to every later token request of the
    run, which then sends no further refresh grant.
    """

    def __init__(self, token_info: dict[str, Any] | None, on_rotated: Callable[[str], None] | None) -> None:
        super().__init__(token_info=token_info)
        self.refresh_token = (token_info or {}).get("refresh_token")
        self.on_rotated = on_rotated
        self.failure: ExtractError | None = None

    def save_token_to_cache(self, token_info: dict[str, Any]) -> None:
        new = token_info.get("refresh_token")
        if new and self.refresh_token and new != self.refresh_token and self.on_rotated is not None:
            try:
                self.on_rotated(new)
            except Exception as error:
                self.failure = (
                    error
                    if isinstance(error, ExtractError)
                    else ExtractError(
                        TOKEN_NOT_STORED,
                        f"Spotify issued a new refresh token that could not be stored ({type(error).__name__})",
                    )
                )
                raise self.failure from None
        self.refresh_token = new or self.refresh_token
        super().save_token_to_cache(token_info)


class _SerializedTokens:
    """Mixin: one token request at a time, whichever worker thread asks; none after a failed rotation store."""

    _token_lock = threading.Lock()

    def get_access_token(self, *args: Any, **kwargs: Any) -> Any:
        with self._token_lock:
            failure = getattr(getattr(self, "cache_handler", None), "failure", None)
            if failure is not None:
                raise ExtractError(failure.reason, failure.message)
            return super().get_access_token(*args, **kwargs)  # type: ignore[misc]


class _ClientCredentials(_SerializedTokens, SpotifyClientCredentials):
    pass


class _UserRefresh(_SerializedTokens, SpotifyOAuth):
    pass


def build_auth(
    *,
    client_id: str,
    client_secret: str,
    refresh_token: str | None,
    token_url: str,
    requests_timeout: float,
    session: requests.Session,
    on_rotated: Callable[[str], None] | None = None,
) -> tuple[Auth, str]:
    """The run's auth manager for the chosen flow, and the flow's name (as recorded in the envelope)."""
    quiet_http_debug_logs()
    auth: Auth
    if refresh_token:
        # Seed the cache with an expired token: spotipy then runs the refresh grant on first use, and
        # again whenever the access token expires. No browser, no redirect, no file.
        cache = RotationAwareCache(
            {
                "access_token": "",
                "token_type": "Bearer",
                "expires_at": 0,
                "expires_in": 0,
                "scope": USER_SCOPE,
                "refresh_token": refresh_token,
            },
            on_rotated,
        )
        auth = _UserRefresh(
            client_id=client_id,
            client_secret=client_secret,
            redirect_uri=UNUSED_REDIRECT_URI,
            scope=USER_SCOPE,
            cache_handler=cache,
            open_browser=False,
            requests_session=session,
            requests_timeout=requests_timeout,
        )
        flow = AUTH_REFRESH_TOKEN
    else:
        auth = _ClientCredentials(
            client_id=client_id,
            client_secret=client_secret,
            cache_handler=MemoryCacheHandler(),
            requests_session=session,
            requests_timeout=requests_timeout,
        )
        flow = AUTH_CLIENT_CREDENTIALS
    auth._token_lock = threading.Lock()  # one lock per run, not per class
    # spotipy reads the token URL from this class attribute; an instance attribute overrides it.
    auth.OAUTH_TOKEN_URL = token_url
    return auth, flow


def build_client(
    auth: Auth, *, api_base_url: str, requests_timeout: float, session: requests.Session
) -> spotipy.Spotify:
    """A spotipy client (one per worker thread) on the run's shared auth manager."""
    client = spotipy.Spotify(
        auth_manager=auth,
        requests_session=session,
        requests_timeout=requests_timeout,
        retries=0,
        status_retries=0,
        backoff_factor=0,
    )
    client.prefix = api_base_url if api_base_url.endswith("/") else api_base_url + "/"
    return client


class RateGate:
    """Shared by the worker threads: after a 429, nobody calls before ``Retry-After`` has passed.

    Spotify's rate limit is per app over a rolling 30 s window; a 429 for one worker applies to all.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._resume_at = 0.0

    def hold(self, seconds: float) -> float:
        """Hold every caller for ``seconds`` from now; returns the ``time.monotonic()`` of the end."""
        with self._lock:
            self._resume_at = max(self._resume_at, time.monotonic() + seconds)
            return self._resume_at

    @property
    def resume_at(self) -> float:
        with self._lock:
            return self._resume_at


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

    - 429: wait ``Retry-After`` if it fits in the time left, else fail with reason ``rate_limited``; the
      wait holds the shared :class:`RateGate`, so the other workers pause too;
    - 5xx, connection errors, timeouts and stalls (a request past its wall-clock cap): exponential
      backoff, at most ``max_attempts`` tries, never sleeping past the deadline;
    - a request cut off by the deadline itself: fails at once with reason ``deadline``;
    - other HTTP errors: raised at once as :class:`spotipy.SpotifyException`, for the caller to explain.
    """

    def __init__(
        self,
        client: spotipy.Spotify,
        deadline: Deadline,
        *,
        max_attempts: int,
        backoff_seconds: float,
        max_backoff_seconds: float,
        max_rate_limit_waits: int = 5,
        gate: RateGate | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.client = client
        self.deadline = deadline
        self.max_attempts = max_attempts
        self.backoff_seconds = backoff_seconds
        self.max_backoff_seconds = max_backoff_seconds
        self.max_rate_limit_waits = max_rate_limit_waits
        self.gate = gate or RateGate()
        self.sleep = sleep
        self.calls = 0
        self._waited_until = 0.0  # the gate's resume instant this caller has already waited for

    def call(self, what: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        failures = 0
        waits = 0
        while True:
            self._wait_for_gate(what)
            if self.deadline.left() <= 0:
                raise ExtractError("deadline", f"the deadline was reached before {what}: not fetched")
            self.calls += 1
            try:
                return fn(*args, **kwargs)
            except spotipy.SpotifyException as error:
                status = error.http_status
                if status == 429:
                    waits += 1
                    self._rate_limited(what, retry_after_seconds(error.headers), waits)
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
            except ForeignLink as error:
                raise ExtractError("foreign_link", f"{what}: {error}") from None
            except RequestBudgetExceeded as error:
                if error.by_deadline:
                    raise ExtractError(
                        "deadline",
                        f"{what} was still unanswered when the deadline came ({error}): not fetched",
                    ) from None
                failures += 1
                if failures >= self.max_attempts:
                    raise ExtractError(
                        "stalled",
                        f"{what} did not complete in time {failures} times in a row ({error}): gave up",
                    ) from None
                self._backoff(what, failures, "stalled")
            except (requests.ConnectionError, requests.Timeout) as error:
                failures += 1
                if failures >= self.max_attempts:
                    raise ExtractError(
                        "connection",
                        f"could not reach Spotify for {what} after {failures} attempts: {type(error).__name__}",
                    ) from None
                self._backoff(what, failures, type(error).__name__)

    def _wait_for_gate(self, what: str) -> None:
        resume_at = self.gate.resume_at
        if resume_at <= self._waited_until:
            return
        self._waited_until = resume_at
        wait = resume_at - time.monotonic()
        if wait <= 0:
            return
        left = self.deadline.left()
        if wait >= left:
            raise ExtractError(
                "rate_limited",
                f"rate limited (429, another request of this run) before {what}: {wait:.0f} s to wait but only "
                f"{max(left, 0):.0f} s left before the deadline: not fetched; the next scheduled run will pick it up",
                429,
            )
        self.sleep(wait)

    def _rate_limited(self, what: str, wait: float, waits: int) -> None:
        left = self.deadline.left()
        if wait >= left or waits > self.max_rate_limit_waits:
            raise ExtractError(
                "rate_limited",
                f"rate limited (429) on {what}: Spotify asked to wait {wait:.0f} s (Retry-After) "
                f"but only {max(left, 0):.0f} s were left before the deadline"
                + (f" after {waits - 1} waits" if waits > 1 else "")
                + ": not fetched; the next scheduled run will pick it up",
                429,
            )
        log_event(logger, "rate_limited", logging.WARNING, what=what, retry_after_s=wait)
        self._waited_until = self.gate.hold(wait)
        self.sleep(wait)

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
