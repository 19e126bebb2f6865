"""A local job bookmark with AWS Glue's semantics for S3 sources (docs/design.md s.5).

Glue remembers, per job and ``transformation_ctx``, a high-water mark of the last-modified times it has
processed, plus the names of the objects modified inside a recent band (``maxBand``, 15 minutes) before
that mark. An object is new when it is newer than the mark, or inside the band and not among the names.
The names make objects that share a timestamp (several in the same second) safe; the band absorbs
objects whose last-modified time is a little older than objects already processed.

State lives in ``<bookmarks_root>/<job_name>/<transformation_ctx>.json`` and is replaced atomically
(write to a temporary file, fsync, rename) on commit only, so a run that fails leaves it unchanged (I3).

Options, as on Glue:
    ``job-bookmark-enable``  read what is new, advance the bookmark on commit.
    ``job-bookmark-pause``   read what is new since the bookmark, leave the bookmark where it is.
    ``job-bookmark-disable`` read everything, leave the bookmark where it is.
A reset deletes the state: the next enabled run reads everything. A rewind moves the mark back to a
time: every object modified after it is read again (the merge makes that safe). That is how objects
hidden below the band are recovered (a backfill copied with old modification times, a clock step, a
mark in the future): Glue skips them silently, the local transform warns (``mark_warnings``).
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from spotify_etl.lake import local_path

DEFAULT_MAX_BAND_MS = 15 * 60 * 1000
# The instants a mark can name (what a datetime can hold, in UTC): a mark outside them is corrupt.
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_EARLIEST_MS = (datetime.min.replace(tzinfo=UTC) - _EPOCH) // timedelta(milliseconds=1)
_LATEST_MS = (datetime.max.replace(tzinfo=UTC) - _EPOCH) // timedelta(milliseconds=1)
STATE_VERSION = 1


@dataclass(frozen=True)
class ObjectVersion:
    """One raw object as the bookmark sees it."""

    uri: str
    modified_ms: int
    size: int = 0


@dataclass(frozen=True)
class BookmarkState:
    """High-water mark (ms since epoch) and the objects inside the band below it (name -> modified ms)."""

    high_water_ms: int | None = None
    band: dict[str, int] = field(default_factory=dict)
    runs: int = 0
    committed_at: str | None = None

    def is_new(self, obj: ObjectVersion, max_band_ms: int) -> bool:
        if self.high_water_ms is None or obj.modified_ms > self.high_water_ms:
            return True
        return obj.modified_ms > self.high_water_ms - max_band_ms and obj.uri not in self.band


class LocalBookmarkStore:
    """Loads, selects against and atomically commits one job's bookmark for one transformation_ctx."""

    def __init__(
        self, root: str | Path, job_name: str, transformation_ctx: str, max_band_ms: int = DEFAULT_MAX_BAND_MS
    ) -> None:
        base = local_path(root)
        self.path = base / job_name / f"{transformation_ctx}.json"
        self.max_band_ms = max_band_ms

    def load(self) -> BookmarkState:
        if not self.path.exists():
            return BookmarkState()
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            mark = data["high_water_ms"]
            if mark is not None and (isinstance(mark, bool) or not isinstance(mark, int)):
                raise ValueError(f"high_water_ms is {mark!r}, not a whole number of milliseconds")
            if mark is not None and not _EARLIEST_MS <= mark <= _LATEST_MS:
                raise ValueError(f"high_water_ms {mark} is not an instant of years 1 to 9999 UTC")
            return BookmarkState(
                high_water_ms=mark,
                band={str(entry["uri"]): int(entry["modified_ms"]) for entry in data["band"]},
                runs=int(data.get("runs", 0)),
                committed_at=data.get("committed_at"),
            )
        except (OSError, UnicodeDecodeError) as error:
            raise BookmarkError(f"bookmark state {self.path} cannot be read: {error}") from error
        except (ValueError, KeyError, TypeError, AttributeError) as error:
            raise BookmarkError(
                f"bookmark state {self.path} is corrupt ({type(error).__name__}: {error}); reset it with "
                "'spotify-etl bookmark reset --lake DIR' (the next run reprocesses every raw object, which "
                "the merge makes safe) or rewind it with 'spotify-etl bookmark rewind --lake DIR --to TIME'"
            ) from error

    def select(self, objects: Iterable[ObjectVersion], option: str) -> list[ObjectVersion]:
        """The objects a run with ``option`` reads, in a stable order."""
        objects = sorted(objects, key=lambda o: (o.modified_ms, o.uri))
        if option == "job-bookmark-disable":
            return objects
        state = self.load()
        return [o for o in objects if state.is_new(o, self.max_band_ms)]

    def commit(self, processed: Iterable[ObjectVersion], now: datetime | None = None) -> BookmarkState:
        """Advance the bookmark past ``processed`` and persist it atomically."""
        processed = list(processed)
        state = self.load()
        moment = now or datetime.now(UTC)
        marks = [o.modified_ms for o in processed]
        if state.high_water_ms is not None:
            marks.append(state.high_water_ms)
        mark = max(marks, default=None)
        band_entries: dict[str, int] = {}
        if mark is not None:
            # Earlier names stay while still inside the band; the band moves up with the mark.
            floor = mark - self.max_band_ms
            candidates = {**state.band, **{o.uri: o.modified_ms for o in processed}}
            band_entries = {uri: ms for uri, ms in candidates.items() if ms > floor}
        payload = {
            "version": STATE_VERSION,
            "high_water_ms": mark,
            "band": [{"uri": uri, "modified_ms": ms} for uri, ms in sorted(band_entries.items())],
            "max_band_ms": self.max_band_ms,
            "runs": state.runs + 1,
            "committed_at": moment.isoformat(),
        }
        self._write_atomically(json.dumps(payload, indent=1, sort_keys=True))
        return self.load()

    def rewind(self, to_ms: int, now: datetime | None = None) -> BookmarkState:
        """Move the mark back to ``to_ms``: objects modified after it are read again by the next run.

        Names in the band that are not after the new mark stay (they were processed); objects inside the
        band below the new mark whose names are not kept are read again too, which the merge makes
        harmless. Refuses to move the mark forward, which would hide objects.
        """
        state = self.load()
        if state.high_water_ms is None:
            raise BookmarkError(f"no bookmark at {self.path}: the next run reads every raw object already")
        if to_ms > state.high_water_ms:
            raise BookmarkError(
                f"--to {_iso(to_ms)} is after the mark {_iso(state.high_water_ms)}: a rewind only moves it back"
            )
        floor = to_ms - self.max_band_ms
        payload = {
            "version": STATE_VERSION,
            "high_water_ms": to_ms,
            "band": [
                {"uri": uri, "modified_ms": ms}
                for uri, ms in sorted(state.band.items())
                if floor < ms <= to_ms
            ],
            "max_band_ms": self.max_band_ms,
            "runs": state.runs,
            "committed_at": (now or datetime.now(UTC)).isoformat(),
        }
        self._write_atomically(json.dumps(payload, indent=1, sort_keys=True))
        return self.load()

    def reset(self) -> bool:
        """Forget everything; return whether there was a state to delete."""
        if self.path.exists():
            self.path.unlink()
            return True
        return False

    def describe(self) -> str:
        state = self.load()
        if state.high_water_ms is None:
            return f"{self.path}: no bookmark (the next run reads every raw object)"
        mark = _iso(state.high_water_ms)
        return (
            f"{self.path}: high-water mark {mark}, {len(state.band)} object(s) tracked by name in the band, "
            f"{state.runs} committed run(s), last commit {state.committed_at}"
        )

    def _write_atomically(self, text: str) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".bookmark-", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ").replace(".000000Z", "Z")


def mark_warnings(state: BookmarkState, listed: Iterable[ObjectVersion], now: datetime) -> list[str]:
    """Why a bookmark may be hiding objects: its mark is ahead of the newest raw object, or of the clock."""
    if state.high_water_ms is None:
        return []
    warnings = []
    hint = (
        "objects modified before it are never read; see 'spotify-etl audit' and 'spotify-etl bookmark rewind'"
    )
    newest = max((o.modified_ms for o in listed), default=None)
    if newest is not None and state.high_water_ms > newest:
        warnings.append(
            f"the bookmark's mark {_iso(state.high_water_ms)} is ahead of the newest raw object "
            f"({_iso(newest)}); {hint}"
        )
    if state.high_water_ms > now.timestamp() * 1000:
        warnings.append(
            f"the bookmark's mark {_iso(state.high_water_ms)} is ahead of the clock ({now:%Y-%m-%dT%H:%M:%SZ}); {hint}"
        )
    return warnings


class BookmarkError(RuntimeError):
    """The bookmark state cannot be used."""
