"""What the simulator server holds between requests: the day, the modes, tokens, injected faults, requests seen.

Request threads and the test (or CLI) thread share it under the server's lock; :class:`StateFlag` makes a
boolean field of it a lock-guarded attribute of the server.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Protocol, overload

from spotify_etl.simulator.web_api import Token


class _HasState(Protocol):
    _lock: threading.Lock
    _state: ServerState


@dataclass
class Fault:
    """Answer ``status`` to the next ``times`` requests whose path matches ``path`` (a regex)."""

    path: str
    status: int
    times: int = 1
    retry_after: int | None = None
    message: str | None = None
    trickle_seconds: float | None = None  # 200 with headers at once, then one body byte every N seconds
    location: str | None = None  # a redirect (3xx) to this URL


@dataclass
class PagingTamper:
    """How one playlist's item pages misbehave (the faults of a real paged read; all off by default).

    ``edits``: after its first page is served, the playlist moves on to its next version (the world one day
    further on: a new ``snapshot_id``, items moved, added, gone), at most this many times. ``cut_after``:
    that page answers ``next: null`` (the chain ends early). ``total_short_by``: every page reports a
    ``total`` this much smaller (the chain runs past it). ``next_base``: ``next`` links point at this API
    base instead (another host).
    """

    edits: int = 0
    days_ahead: int = 0
    cut_after: int | None = None
    total_short_by: int = 0
    next_base: str | None = None

    def apply(self, page: dict[str, Any], api_base_url: str) -> dict[str, Any]:
        """The page as this tamper serves it; an edit takes effect after a first page."""
        page = dict(page)
        number = page["offset"] // page["limit"] + 1
        if self.cut_after is not None and number >= self.cut_after:
            page["next"] = None
        page["total"] -= self.total_short_by
        if self.next_base is not None and page["next"]:
            page["next"] = self.next_base + page["next"].removeprefix(api_base_url)
        if number == 1 and self.edits > 0:
            self.edits -= 1
            self.days_ahead += 1
        return page


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    query: dict[str, list[str]]
    status: int
    authorized: bool = False  # the request carried an Authorization header


@dataclass
class ServerState:
    day: date
    dev_mode: bool
    legacy_shape: bool
    tokens: dict[str, Token] = field(default_factory=dict)
    faults: list[Fault] = field(default_factory=list)
    requests: list[RecordedRequest] = field(default_factory=list)
    tampers: dict[str, PagingTamper] = field(default_factory=dict)  # playlist id -> its paging faults


class StateFlag:
    """A boolean knob of the simulator server: the ``ServerState`` field of the same name, under the lock.

    Request threads read the state under the same lock, so a flag set by a test applies from the next
    request on.
    """

    def __set_name__(self, owner: type[Any], name: str) -> None:
        self._field = name

    @overload
    def __get__(self, server: None, owner: type[Any]) -> StateFlag: ...

    @overload
    def __get__(self, server: _HasState, owner: type[Any]) -> bool: ...

    def __get__(self, server: _HasState | None, owner: type[Any]) -> StateFlag | bool:
        if server is None:
            return self
        with server._lock:
            return bool(getattr(server._state, self._field))

    def __set__(self, server: _HasState, value: bool) -> None:
        with server._lock:
            setattr(server._state, self._field, value)
