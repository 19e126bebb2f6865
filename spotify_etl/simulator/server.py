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
  5xx for the next N requests whose path matches, :meth:`~SimulatorServer.inject_redirect` a redirect;
  :meth:`~SimulatorServer.tamper_paging` makes one playlist's item pages misbehave (edited between pages,
  a chain cut short or running past ``total``, ``next`` links to another host).

The simulated clock (:meth:`SimulatorServer.set_day`) chooses which day of the world is served.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
import threading
import time
from datetime import date, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit

from extract_lambda import settings
from spotify_etl.simulator.server_state import Fault, PagingTamper, RecordedRequest, ServerState, StateFlag
from spotify_etl.simulator.web_api import HttpError, Token, WebApi
from spotify_etl.simulator.world import SIM_USER_ID, ChartWorld

USER_SCOPE = "playlist-read-private playlist-read-collaborative"
_TRICKLE_HEADER = "X-Simulator-Trickle"  # internal: never sent


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
        self._api = WebApi(world, lambda: self.api_base_url)
        self.host = host
        self.port = port
        self.client_id = client_id or f"simclient{secrets.token_hex(8)}"
        self.client_secret = client_secret or f"simsecret{secrets.token_hex(16)}"
        self.refresh_token = refresh_token or f"simrefresh{secrets.token_hex(16)}"
        self.rotate_refresh_tokens = False
        """When True, every refresh grant answers a new refresh token and revokes the one it used."""
        self.user_id = SIM_USER_ID
        self._lock = threading.Lock()
        self._state = ServerState(day=world.start, dev_mode=dev_mode, legacy_shape=legacy_shape)
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

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

    dev_mode = StateFlag()
    """Development Mode (see the module doc); settable at any time."""
    legacy_shape = StateFlag()
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

    def inject_redirect(self, path: str, location: str, *, status: int = 302, times: int = 1) -> Fault:
        """Redirect the next ``times`` requests whose path matches the regex ``path`` to ``location``."""
        fault = Fault(path, status, times, location=location)
        with self._lock:
            self._state.faults.append(fault)
        return fault

    def tamper_paging(self, playlist_id: str, **faults: Any) -> PagingTamper:
        """Make ``playlist_id``'s item pages misbehave (:class:`PagingTamper`'s fields) until cleared."""
        tamper = PagingTamper(**faults)
        with self._lock:
            self._state.tampers[playlist_id] = tamper
        return tamper

    def clear_faults(self) -> None:
        """Drop every injected fault and paging tamper (an edited playlist is served as the clock says again)."""
        with self._lock:
            self._state.faults.clear()
            self._state.tampers.clear()

    def authorize(self) -> str:
        """The user authorizes the app again (the code flow, done by hand): a new refresh token, the old one revoked."""
        with self._lock:
            self.refresh_token = f"simrefresh{secrets.token_hex(16)}"
            return self.refresh_token

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

    def _take_fault(self, path: str) -> Fault | None:
        with self._lock:
            for fault in self._state.faults:
                if fault.times > 0 and re.search(fault.path, path):
                    fault.times -= 1
                    return fault
        return None

    def _record(
        self, method: str, path: str, query: dict[str, list[str]], status: int, authorized: bool = False
    ) -> None:
        with self._lock:
            self._state.requests.append(RecordedRequest(method, path, query, status, authorized))

    def handle(
        self, method: str, raw_path: str, headers: Any, body: bytes
    ) -> tuple[int, dict[str, str], Any]:
        """Route one request: returns (status, headers, JSON body)."""
        parts = urlsplit(raw_path)
        path, query = parts.path, parse_qs(parts.query)

        def record(status: int) -> None:
            self._record(method, path, query, status, "Authorization" in headers)

        try:
            fault = self._take_fault(path)
            if fault is not None and fault.trickle_seconds is not None:
                record(200)
                return 200, {_TRICKLE_HEADER: str(fault.trickle_seconds)}, {"trickle": "x" * 64}
            if fault is not None and fault.location is not None:
                record(fault.status)
                return fault.status, {"Location": fault.location}, {"moved": fault.location}
            if fault is not None:
                extra = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else {}
                default = "API rate limit exceeded" if fault.status == 429 else "Service unavailable"
                raise HttpError(fault.status, fault.message or default, extra)
            if path == "/api/token":
                if method != "POST":
                    raise HttpError(405, "Method not allowed")
                status, payload = 200, self._token(headers, body)
            elif path.startswith("/v1/"):
                if method != "GET":
                    raise HttpError(405, "Method not allowed")
                token = self._bearer(headers)
                status, payload = 200, self._answer_api(path.removeprefix("/v1"), query, token)
            else:
                raise HttpError(404, "Service not found")
            record(status)
            return status, {}, payload
        except _TokenError as error:
            record(400)
            return 400, {}, {"error": error.error, "error_description": error.description}
        except HttpError as error:
            record(error.status)
            return error.status, error.headers, {"error": {"status": error.status, "message": error.message}}

    def _answer_api(self, path: str, query: dict[str, list[str]], token: Token) -> Any:
        segments = path.split("/")  # ["", "playlists", id, "items"]
        playlist_id = segments[2] if len(segments) > 2 and segments[1] == "playlists" else None
        with self._lock:
            day, dev_mode, legacy = self._state.day, self._state.dev_mode, self._state.legacy_shape
            tamper = self._state.tampers.get(playlist_id or "")
            if tamper is not None:
                day += timedelta(days=tamper.days_ahead)
        answer = self._api.answer(path, query, token, day, dev_mode, legacy)
        if tamper is not None and len(segments) == 4 and "fields" not in query:
            with self._lock:
                answer = tamper.apply(answer, self.api_base_url)
        return answer

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
            token = Token(user_id=None, scope=None)
        elif grant == "refresh_token":
            with self._lock:
                if form.get("refresh_token") != self.refresh_token:
                    raise _TokenError("invalid_grant", "Invalid refresh token")
                if self.rotate_refresh_tokens:  # the used token is revoked: only the new one works
                    rotated = f"simrefresh{secrets.token_hex(16)}"
                    self.refresh_token = rotated
            token = Token(user_id=self.user_id, scope=USER_SCOPE)
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

    def _bearer(self, headers: Any) -> Token:
        auth = headers.get("Authorization", "")
        if not auth.startswith("Bearer ") or not auth[7:].strip():
            raise HttpError(401, "No token provided")
        with self._lock:
            token = self._state.tokens.get(auth[7:].strip())
        if token is None:
            raise HttpError(401, "Invalid access token")
        return token


class _TokenError(Exception):
    def __init__(self, error: str, description: str) -> None:
        super().__init__(description)
        self.error = error
        self.description = description


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
