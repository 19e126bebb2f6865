"""The offline Spotify Web API: a loopback HTTP server over a :class:`ChartWorld`.

Faithful to Spotify's OpenAPI description (``spotify-web-api-openapi.yml``, May 2026) for what the extractor
uses, including what the 2026 API refuses:

- ``POST /api/token``: ``client_credentials`` and ``refresh_token`` grants with HTTP Basic client auth;
  ``400 invalid_client`` / ``400 invalid_grant`` otherwise (as accounts.spotify.com answers).
- ``GET /v1/playlists/{id}``: 2026 shape (embedded ``items`` paging, ``item`` keys) or, with
  ``legacy_shape``, the older ``tracks``/``track`` shape. 404 for unknown and editorial ids.
- ``GET /v1/playlists/{id}/items``: ``offset``/``limit`` (1..50, else 400), absolute ``next`` URLs.
- ``GET /v1/playlists/{id}/tracks``: 403 in Development Mode (removed for such apps on 2026-03-09).
- ``GET /v1/artists?ids=``: at most 50 ids; 403 in Development Mode. ``GET /v1/artists/{id}``.
- Development Mode (``dev_mode``): playlist items only for playlists the token's user owns or collaborates
  on (a client-credentials token has no user: 403), and no ``popularity``/``followers``/``available_markets``.
- Every ``/v1`` call needs ``Authorization: Bearer <token>`` (401 otherwise).
- Fault injection for tests: :meth:`SimulatorServer.inject_fault` answers 429 (with ``Retry-After``) or
  5xx for the next N requests whose path matches.

The simulated clock (:meth:`SimulatorServer.set_day`) chooses which day of the world is served.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, overload
from urllib.parse import parse_qs, urlencode, urlsplit

from extract_lambda import settings
from spotify_etl.simulator.fields import FieldsSyntaxError, apply_fields
from spotify_etl.simulator.world import EDITORIAL_PLAYLIST_ID, SIM_USER_ID, ChartWorld

MAX_PAGE_LIMIT = 50
MAX_ARTIST_IDS = 50
EMBEDDED_PAGE_LIMIT = 100
USER_SCOPE = "playlist-read-private playlist-read-collaborative"
_DEV_MODE_DROPPED = ("popularity", "followers", "available_markets", "label")
_ID = re.compile(r"^[0-9A-Za-z]{1,64}$")
_TRICKLE_HEADER = "X-Simulator-Trickle"  # internal: never sent


@dataclass
class Fault:
    """Answer ``status`` to the next ``times`` requests whose path matches ``path`` (a regex)."""

    path: str
    status: int
    times: int = 1
    retry_after: int | None = None
    message: str | None = None
    trickle_seconds: float | None = None  # 200 with headers at once, then one body byte every N seconds


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    query: dict[str, list[str]]
    status: int


@dataclass
class _Token:
    user_id: str | None
    scope: str | None


@dataclass
class _State:
    day: date
    dev_mode: bool
    legacy_shape: bool
    tokens: dict[str, _Token] = field(default_factory=dict)
    faults: list[Fault] = field(default_factory=list)
    requests: list[RecordedRequest] = field(default_factory=list)


class _HttpError(Exception):
    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


class _StateFlag:
    """A boolean knob of :class:`SimulatorServer`: the ``_State`` field of the same name, under the lock.

    Request threads read the state under the same lock, so a flag set by a test applies from the next
    request on.
    """

    def __set_name__(self, owner: type[SimulatorServer], name: str) -> None:
        self._field = name

    @overload
    def __get__(self, server: None, owner: type[SimulatorServer]) -> _StateFlag: ...

    @overload
    def __get__(self, server: SimulatorServer, owner: type[SimulatorServer]) -> bool: ...

    def __get__(self, server: SimulatorServer | None, owner: type[SimulatorServer]) -> _StateFlag | bool:
        if server is None:
            return self
        with server._lock:
            return bool(getattr(server._state, self._field))

    def __set__(self, server: SimulatorServer, value: bool) -> None:
        with server._lock:
            setattr(server._state, self._field, value)


class SimulatorServer:
    """The simulator on ``host:port`` (port 0: any free port), in a background thread.

    Use as a context manager, or call :meth:`start` and :meth:`stop`. The simulator's own credentials
    (``client_id``, ``client_secret``, ``refresh_token``) are random per server unless given: they are
    fake and safe to print, and random so that tests can check they never leak into output.
    """

    def __init__(
        self,
        world: ChartWorld,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        dev_mode: bool = False,
        legacy_shape: bool = False,
        client_id: str | None = None,
        client_secret: str | None = None,
        refresh_token: str | None = None,
    ) -> None:
        self.world = world
        self.host = host
        self.port = port
        self.client_id = client_id or f"simclient{secrets.token_hex(8)}"
        self.client_secret = client_secret or f"simsecret{secrets.token_hex(16)}"
        self.refresh_token = refresh_token or f"simrefresh{secrets.token_hex(16)}"
        self.rotate_refresh_tokens = False
        """When True, every refresh grant answers a new refresh token and revokes the one it used."""
        self.user_id = SIM_USER_ID
        self._lock = threading.Lock()
        self._state = _State(day=world.start, dev_mode=dev_mode, legacy_shape=legacy_shape)
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> SimulatorServer:
        """Bind and serve in a daemon thread; returns self."""
        if self._httpd is not None:
            return self
        handler = type("_BoundHandler", (_Handler,), {"simulator": self})
        self._httpd = ThreadingHTTPServer((self.host, self.port), handler)
        self._httpd.daemon_threads = True
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, name="spotify-simulator", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and release the port."""
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> SimulatorServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # ------------------------------------------------------------------ knobs (thread-safe)

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def api_base_url(self) -> str:
        """What spotipy takes as ``prefix`` (with the trailing slash)."""
        return f"{self.base_url}/v1/"

    @property
    def token_url(self) -> str:
        return f"{self.base_url}/api/token"

    @property
    def day(self) -> date:
        with self._lock:
            return self._state.day

    def set_day(self, day: date) -> None:
        """Set the simulated clock: every response from now on shows the world on ``day``."""
        with self._lock:
            self._state.day = day

    dev_mode = _StateFlag()
    """Development Mode (see the module doc); settable at any time."""
    legacy_shape = _StateFlag()
    """Serve the older ``tracks``/``track`` playlist shape; settable at any time."""

    def inject_fault(
        self,
        path: str,
        status: int,
        *,
        times: int = 1,
        retry_after: int | None = None,
        message: str | None = None,
    ) -> Fault:
        """Answer ``status`` to the next ``times`` requests whose path matches the regex ``path``."""
        fault = Fault(path, status, times, retry_after, message)
        with self._lock:
            self._state.faults.append(fault)
        return fault

    def inject_trickle(self, path: str, *, byte_interval: float = 2.0, times: int = 1_000_000) -> Fault:
        """Answer the matching requests with headers at once, then one body byte every ``byte_interval`` s.

        The read timeout of a client restarts with every byte, so only a wall-clock bound ends such a
        request. The server stops when the client closes the connection.
        """
        fault = Fault(path, 200, times, trickle_seconds=byte_interval)
        with self._lock:
            self._state.faults.append(fault)
        return fault

    def clear_faults(self) -> None:
        with self._lock:
            self._state.faults.clear()

    def revoke_tokens(self) -> None:
        """Forget every access token issued so far (API calls with them get 401)."""
        with self._lock:
            self._state.tokens.clear()

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request served so far, in order (a copy)."""
        with self._lock:
            return list(self._state.requests)

    def clear_requests(self) -> None:
        with self._lock:
            self._state.requests.clear()

    @property
    def issued_tokens(self) -> list[str]:
        """Access tokens issued so far (tests check that none leaks into output)."""
        with self._lock:
            return list(self._state.tokens)

    def env(self) -> dict[str, str]:
        """The environment variables that point ``spotify-etl extract`` at this server."""
        return {
            settings.API_BASE_URL: self.api_base_url,
            settings.TOKEN_URL: self.token_url,
            settings.CLIENT_ID: self.client_id,
            settings.CLIENT_SECRET: self.client_secret,
        }

    # ------------------------------------------------------------------ request handling

    def _take_fault(self, path: str) -> Fault | None:
        with self._lock:
            for fault in self._state.faults:
                if fault.times > 0 and re.search(fault.path, path):
                    fault.times -= 1
                    return fault
        return None

    def _record(self, method: str, path: str, query: dict[str, list[str]], status: int) -> None:
        with self._lock:
            self._state.requests.append(RecordedRequest(method, path, query, status))

    def handle(
        self, method: str, raw_path: str, headers: Any, body: bytes
    ) -> tuple[int, dict[str, str], Any]:
        """Route one request: returns (status, headers, JSON body)."""
        parts = urlsplit(raw_path)
        path, query = parts.path, parse_qs(parts.query)
        try:
            fault = self._take_fault(path)
            if fault is not None and fault.trickle_seconds is not None:
                self._record(method, path, query, 200)
                return 200, {_TRICKLE_HEADER: str(fault.trickle_seconds)}, {"trickle": "x" * 64}
            if fault is not None:
                extra = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else {}
                default = "API rate limit exceeded" if fault.status == 429 else "Service unavailable"
                raise _HttpError(fault.status, fault.message or default, extra)
            if path == "/api/token":
                if method != "POST":
                    raise _HttpError(405, "Method not allowed")
                status, payload = 200, self._token(headers, body)
            elif path.startswith("/v1/"):
                if method != "GET":
                    raise _HttpError(405, "Method not allowed")
                token = self._bearer(headers)
                status, payload = 200, self._api(path.removeprefix("/v1"), query, token)
            else:
                raise _HttpError(404, "Service not found")
            self._record(method, path, query, status)
            return status, {}, payload
        except _TokenError as error:
            self._record(method, path, query, 400)
            return 400, {}, {"error": error.error, "error_description": error.description}
        except _HttpError as error:
            self._record(method, path, query, error.status)
            return error.status, error.headers, {"error": {"status": error.status, "message": error.message}}

    def _token(self, headers: Any, body: bytes) -> dict[str, Any]:
        form = {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}
        auth = headers.get("Authorization", "")
        client_id = client_secret = None
        if auth.startswith("Basic "):
            try:
                client_id, _, client_secret = base64.b64decode(auth[6:]).decode().partition(":")
            except (ValueError, UnicodeDecodeError):
                client_id = None
        else:
            client_id, client_secret = form.get("client_id"), form.get("client_secret")
        if client_id != self.client_id:
            raise _TokenError("invalid_client", "Invalid client")
        if client_secret != self.client_secret:
            raise _TokenError("invalid_client", "Invalid client secret")
        grant = form.get("grant_type")
        rotated: str | None = None
        if grant == "client_credentials":
            token = _Token(user_id=None, scope=None)
        elif grant == "refresh_token":
            with self._lock:
                if form.get("refresh_token") != self.refresh_token:
                    raise _TokenError("invalid_grant", "Invalid refresh token")
                if self.rotate_refresh_tokens:  # the used token is revoked: only the new one works
                    rotated = f"simrefresh{secrets.token_hex(16)}"
                    self.refresh_token = rotated
            token = _Token(user_id=self.user_id, scope=USER_SCOPE)
        else:
            raise _TokenError(
                "unsupported_grant_type",
                f"grant_type must be client_credentials or refresh_token, got {grant!r}",
            )
        access = f"simtoken{secrets.token_hex(16)}"
        with self._lock:
            self._state.tokens[access] = token
        answer: dict[str, Any] = {"access_token": access, "token_type": "Bearer", "expires_in": 3600}
        if token.scope is not None:
            answer["scope"] = token.scope
        if rotated is not None:
            answer["refresh_token"] = rotated
        return answer

    def _bearer(self, headers: Any) -> _Token:
        auth = headers.get("Authorization", "")
        if not auth.startswith("Bearer ") or not auth[7:].strip():
            raise _HttpError(401, "No token provided")
        with self._lock:
            token = self._state.tokens.get(auth[7:].strip())
        if token is None:
            raise _HttpError(401, "Invalid access token")
        return token

    def _api(self, path: str, query: dict[str, list[str]], token: _Token) -> Any:
        with self._lock:
            day, dev_mode, legacy = self._state.day, self._state.dev_mode, self._state.legacy_shape
        segments = [s for s in path.split("/") if s]
        if segments == ["artists"]:
            return self._artists(query, day, dev_mode)
        if len(segments) == 2 and segments[0] == "artists":
            return self._artist(segments[1], day, dev_mode)
        if segments and segments[0] == "playlists" and len(segments) in (2, 3):
            playlist_id = segments[1]
            if not _ID.match(playlist_id):
                raise _HttpError(400, "Invalid base62 id")
            sub = segments[2] if len(segments) == 3 else None
            if sub is None:
                return self._playlist(playlist_id, query, day, dev_mode, legacy, token)
            if sub in ("items", "tracks"):
                if sub == "tracks" and dev_mode:
                    raise _HttpError(403, "Forbidden")
                return self._items_page(playlist_id, sub, query, day, dev_mode, legacy, token)
        raise _HttpError(404, "Service not found")

    def _known(self, playlist_id: str) -> None:
        if playlist_id == EDITORIAL_PLAYLIST_ID or not self.world.has_playlist(playlist_id):
            raise _HttpError(404, "Resource not found")

    def _may_read_items(self, playlist_id: str, dev_mode: bool, token: _Token) -> bool:
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
        token: _Token,
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
        token: _Token,
    ) -> dict[str, Any]:
        self._known(playlist_id)
        if not self._may_read_items(playlist_id, dev_mode, token):
            raise _HttpError(403, "Forbidden")
        limit = _int_param(query, "limit", 20)
        offset = _int_param(query, "offset", 0)
        if not 1 <= limit <= MAX_PAGE_LIMIT:
            raise _HttpError(400, f"Invalid limit: {limit} (1..{MAX_PAGE_LIMIT})")
        if offset < 0:
            raise _HttpError(400, f"Invalid offset: {offset}")
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
            raise _HttpError(403, "Forbidden")
        raw = ",".join(query.get("ids", []))
        ids = [i for i in raw.split(",") if i]
        if not ids:
            raise _HttpError(400, "Missing ids parameter")
        if len(ids) > MAX_ARTIST_IDS:
            raise _HttpError(400, f"Too many ids requested: {len(ids)} (at most {MAX_ARTIST_IDS})")
        for artist_id in ids:
            if not _ID.match(artist_id):
                raise _HttpError(400, f"Invalid base62 id: {artist_id}")
        return {"artists": [self.world.artist(artist_id, day) for artist_id in ids]}

    def _artist(self, artist_id: str, day: date, dev_mode: bool) -> dict[str, Any]:
        if not _ID.match(artist_id):
            raise _HttpError(400, "Invalid base62 id")
        artist = self.world.artist(artist_id, day)
        if artist is None:
            raise _HttpError(404, "Resource not found")
        return _strip_dev_fields(artist) if dev_mode else artist


class _TokenError(Exception):
    def __init__(self, error: str, description: str) -> None:
        super().__init__(description)
        self.error = error
        self.description = description


def _int_param(query: dict[str, list[str]], name: str, default: int) -> int:
    values = query.get(name)
    if not values:
        return default
    try:
        return int(values[0])
    except ValueError:
        raise _HttpError(400, f"Invalid {name}: {values[0]!r}") from None


def _with_fields(answer: dict[str, Any], query: dict[str, list[str]]) -> dict[str, Any]:
    """The answer reduced by the ``fields`` parameter, if any (400 when it does not parse)."""
    fields = query.get("fields")
    if not fields:
        return answer
    try:
        filtered: dict[str, Any] = apply_fields(answer, fields[0])
    except FieldsSyntaxError as error:
        raise _HttpError(400, str(error)) from None
    return filtered


def _strip_dev_fields(value: Any) -> Any:
    """Drop the fields Development Mode apps no longer get (recursively, on fresh copies)."""
    if isinstance(value, dict):
        return {k: _strip_dev_fields(v) for k, v in value.items() if k not in _DEV_MODE_DROPPED}
    if isinstance(value, list):
        return [_strip_dev_fields(v) for v in value]
    return value


class _Handler(BaseHTTPRequestHandler):
    simulator: SimulatorServer
    protocol_version = "HTTP/1.1"
    server_version = "SpotifySimulator/1.0"
    disable_nagle_algorithm = True  # headers and body go out in two writes: avoid the 40 ms delayed-ACK stall

    def _serve(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        status, headers, payload = self.simulator.handle(method, self.path, self.headers, body)
        data = json.dumps(payload).encode("utf-8")
        trickle = headers.pop(_TRICKLE_HEADER, None)
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        if trickle is None:
            self.wfile.write(data)
            return
        self.close_connection = True
        try:
            for byte in data:
                self.wfile.write(bytes([byte]))
                self.wfile.flush()
                time.sleep(float(trickle))
        except OSError:
            return  # the client gave up: what a trickle is for

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def do_PUT(self) -> None:
        self._serve("PUT")

    def do_DELETE(self) -> None:
        self._serve("DELETE")

    def log_message(self, format: str, *args: Any) -> None:  # quiet: tests and the CLI print their own
        return
