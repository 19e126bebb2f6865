"""HTTP requests with a wall-clock bound: connect, headers and the whole body within a total cap.

requests' ``timeout`` bounds the connect and each socket read, and the read timeout restarts with every
byte: a server that sends its headers and then one byte every 2 s holds a plain ``session.get`` for as
long as it likes. :class:`BoundedSession` runs each request (with ``stream=True`` and the body read in
full) in a worker thread and waits for it at most ``min(total_cap, time left before the deadline)``.
When the bound passes it shuts the response's socket down (which wakes the worker's blocked read, so the
thread ends and the connection is dropped, never returned to the pool) and raises
:class:`RequestBudgetExceeded`, a ``requests.Timeout``. A server that trickles its *headers* leaves the
worker (a daemon thread) blocked until its per-read timeout, but the caller is released on time all the
same.

Every URL the session sends to (the first one, each ``next`` link, each redirect hop) is checked first
against the one endpoint it serves (:class:`Endpoint`: the API base for the Spotify client, the token URL
for the auth manager): same scheme, host and port, and a path under its prefix. Spotify's paging links are
absolute URLs, so a response (or a proxy, or a redirect) could otherwise send the next request, and its
``Authorization: Bearer`` header, anywhere. A refused URL raises :class:`ForeignLink` and nothing is sent.
(requests itself drops ``Authorization`` on a redirect to another host, ``Session.rebuild_auth`` /
``should_strip_auth`` in requests 2.34, but keeps it for ``http`` -> ``https`` on the same host; the check
here refuses both before any byte goes out.)
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter


class Deadline:
    """Time left before an absolute ``time.monotonic()`` instant (None: no deadline)."""

    def __init__(self, at: float | None) -> None:
        self.at = at

    def left(self) -> float:
        return float("inf") if self.at is None else self.at - time.monotonic()


_DEFAULT_PORTS = {"http": 80, "https": 443}


class ForeignLink(requests.RequestException):
    """A URL outside the session's endpoint: not requested. The message names its origin, never its query."""


def _origin(url: str) -> tuple[str, str]:
    """(``scheme://host:port`` of ``url``, its path); ValueError for a port that is not one."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    port = parts.port if parts.port is not None else _DEFAULT_PORTS.get(scheme)
    return f"{scheme}://{(parts.hostname or '').lower()}:{port}", parts.path


@dataclass(frozen=True)
class Endpoint:
    """Where a session may send requests: one ``scheme://host:port``, paths under ``prefix``."""

    origin: str
    prefix: str

    @classmethod
    def of(cls, url: str) -> Endpoint:
        """The endpoint of a configured base URL (``https://api.spotify.com/v1/``, a token URL)."""
        return cls(*_origin(url))

    def refusal(self, url: str) -> str | None:
        """Why ``url`` may not be requested, naming its host (None: it may)."""
        try:
            origin, path = _origin(url)
        except ValueError:
            return f"a malformed link ({len(url)} characters) is not followed"
        if origin != self.origin:
            return f"a link to {origin} (host {urlsplit(url).hostname!r}) is outside the configured API {self.origin}{self.prefix}: not followed"
        if not path.startswith(self.prefix) or {".", ".."} & set(path.split("/")):
            return f"a link to {origin}{path} is outside the configured API path {self.prefix}: not followed"
        return None


class RequestBudgetExceeded(requests.Timeout):
    """A request did not complete (headers and whole body) within its wall-clock budget."""

    def __init__(self, message: str, *, seconds: float, by_deadline: bool) -> None:
        super().__init__(message)
        self.seconds = seconds
        self.by_deadline = by_deadline  # True: the run's deadline, not the per-request cap, ran out


def _shut_down(response: requests.Response) -> None:
    """Shut the response's socket down: a read blocked on it in another thread returns at once."""
    connection = getattr(response.raw, "connection", None) or getattr(response.raw, "_connection", None)
    sock = getattr(connection, "sock", None)
    if sock is not None:
        with contextlib.suppress(OSError):  # already closed by the peer or by the worker
            sock.shutdown(socket.SHUT_RDWR)


class BoundedSession(requests.Session):
    """A session that never retries by itself and bounds every request's wall-clock time.

    Args:
        deadline: the run's deadline; no request outlives it.
        total_cap: seconds one request may take at most, connect to last byte.
        endpoint: where requests may go (every URL and redirect hop is checked; None: anywhere).
    """

    def __init__(self, deadline: Deadline, total_cap: float, endpoint: Endpoint | None = None) -> None:
        super().__init__()
        adapter = HTTPAdapter(max_retries=0)  # no sleeping behind our back (Retry-After, backoff)
        self.mount("http://", adapter)
        self.mount("https://", adapter)
        self.deadline = deadline
        self.total_cap = total_cap
        self.endpoint = endpoint

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        """Send one hop (requests calls this for the first URL and for each redirect) if its URL may go out."""
        refusal = self.endpoint.refusal(request.url or "") if self.endpoint is not None else None
        if refusal is not None:
            raise ForeignLink(refusal)
        return super().send(request, **kwargs)

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:
        left = self.deadline.left()
        budget = min(self.total_cap, left)
        by_deadline = left <= self.total_cap
        if budget <= 0:
            raise RequestBudgetExceeded("the deadline has passed", seconds=0.0, by_deadline=True)
        kwargs["stream"] = True
        box: dict[str, Any] = {}
        done = threading.Event()

        def work() -> None:
            try:
                response = super(BoundedSession, self).request(method, url, *args, **kwargs)
                box["response"] = response  # visible to the watchdog before the body is read
                _ = response.content  # the whole body, or an error once the socket is shut down
            except BaseException as error:  # handed to the caller's thread
                box["error"] = error
            finally:
                done.set()

        threading.Thread(target=work, name="bounded-http", daemon=True).start()
        if not done.wait(budget):
            response = box.get("response")
            if response is not None:
                _shut_down(response)
            what = "headers" if response is None else "the whole body"
            raise RequestBudgetExceeded(
                f"{what} not received within {budget:.1f} s"
                + (
                    " (the run's deadline)"
                    if by_deadline
                    else f" (the {self.total_cap:.0f} s cap per request)"
                ),
                seconds=budget,
                by_deadline=by_deadline,
            )
        if "error" in box:
            raise box["error"]
        result: requests.Response = box["response"]
        return result
