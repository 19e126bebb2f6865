"""The audit's ledger: where every raw object went (docs/design.md s.3, invariant I2 "nothing lost silently").

Each raw object gets exactly one status:

``in_tables``    its URI is the ``source_file`` of rows in at least one of the six curated tables.
``superseded``   valid and read (a write record names it: else it was never read, and is ``hidden``), but
                 every row it gave was replaced by design: the merge rule keeps, per
                 (playlist_id, snapshot_date), only the greatest observation by (extracted_at, source_file),
                 and ``playlist_snapshots`` holds a greater one for this object's playlist and day; it holds
                 the latest row of no track, album or artist either (an observation that still does is
                 ``in_tables``). The audit reads the object's ``playlist.id`` and ``extracted_at`` to decide.
``quarantined``  in the quarantine table, with its reason.
``pending``      not read yet, and the bookmark will select it on the next run (local lakes only).
``hidden``       not read, and the bookmark never will: its modification time is below the mark, outside
                 the band, and it is not among the band's names (local lakes only).
``in_both``      in the tables *and* quarantined: contradicts I2's "never both".
``lost``         a write record says it landed (or was quarantined), but no table (or quarantine row) holds it
                 and nothing superseded it: its rows were deleted or altered since.
``unaccounted``  none of the above (on S3, where the audit does not read Glue's bookmark, a not-yet-read
                 object is counted here too).

Accounted: ``in_tables``, ``superseded``, ``quarantined``, ``pending``. Anything else needs action.

Objects are matched by raw key (the path below the raw root, ``record.raw_key``), never by absolute URI, so a
lake copied to another folder or bucket audits the same. The content of the curated partitions is checked
against the runs' write records (``content.py``). A lake without records (written before they existed) gets
the name checks only, and ``superseded`` is then judged by content alone.
"""

from __future__ import annotations

import json
import zlib
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote

import duckdb

from spotify_etl.audit.content import PartitionProblem, Records, check_partitions, load_records
from spotify_etl.audit.stores import LakeStore
from spotify_etl.runtime.local.bookmarks import BookmarkState, ObjectVersion
from spotify_etl.transform.record import raw_key
from spotify_etl.transform.registry import CURATED_TABLES

ACCOUNTED = ("in_tables", "superseded", "quarantined", "pending")
NEEDS_ACTION = ("hidden", "in_both", "lost", "unaccounted")
# The most JSON text the audit inflates to read one object's playlist id and extracted_at (past it: unreadable).
_MAX_INFLATED = 256 * 1024 * 1024


@dataclass(frozen=True)
class Entry:
    obj: ObjectVersion
    status: str
    detail: str = ""


@dataclass
class Ledger:
    entries: list[Entry] = field(default_factory=list)
    orphans: list[str] = field(default_factory=list)  # source_file of rows whose raw object is gone
    problems: list[PartitionProblem] = field(default_factory=list)  # curated partitions unlike the record
    records: int = 0  # write records found (0: a lake written before records)
    unreadable: list[str] = field(default_factory=list)  # Parquet files no reader can open (local paths)

    def counts(self) -> Counter[str]:
        return Counter(e.status for e in self.entries)

    def needing_action(self) -> list[Entry]:
        return [e for e in self.entries if e.status in NEEDS_ACTION]


def _read_columns(
    files: list[str], columns: list[str], unreadable: list[str] | None = None
) -> list[dict[str, Any]]:
    """The columns of every row of the Parquet files (DuckDB; timestamps as microseconds since the epoch).

    A file DuckDB cannot read (truncated, overwritten) is left out and added to ``unreadable``: the audit
    reports it instead of failing.
    """
    if not files:
        return []
    select = ", ".join(f"epoch_us({c}) AS {c}" if c == "extracted_at" else c for c in columns)
    with duckdb.connect(":memory:") as con:
        try:
            cursor = con.execute(f"SELECT {select} FROM read_parquet(?, union_by_name = true)", [files])
            return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]
        except duckdb.Error:
            if len(files) == 1:
                if unreadable is not None:
                    unreadable.append(files[0])
                return []
    return [row for file in files for row in _read_columns([file], columns, unreadable)]


def _keys(uris: Iterable[str], roots: list[str]) -> set[str]:
    """Raw keys of URIs as written and percent-decoded: Spark's input_file_name() may encode what the
    listing does not."""
    found = set()
    for uri in uris:
        found |= {raw_key(uri, roots), raw_key(unquote(uri), roots)}
    return found


@dataclass(frozen=True)
class _Observation:
    playlist_id: str
    extracted_at: datetime

    @property
    def snapshot_date(self) -> str:
        return self.extracted_at.date().isoformat()


def _observation(store: LakeStore, obj: ObjectVersion) -> _Observation | None:
    """The object's playlist id and extracted_at, or None when it cannot be read (then it is unaccounted)."""
    try:
        inflater = zlib.decompressobj(wbits=zlib.MAX_WBITS | 16)
        text = inflater.decompress(store.read_bytes(obj.uri), _MAX_INFLATED)
        if inflater.unconsumed_tail:
            return None  # larger than any object the transform parses
        record = json.loads(text)
        moment = datetime.fromisoformat(record["extracted_at"].replace("Z", "+00:00")).astimezone(UTC)
        return _Observation(str(record["playlist"]["id"]), moment)
    except (OSError, EOFError, ValueError, KeyError, TypeError, AttributeError, RecursionError, zlib.error):
        return None  # RecursionError: JSON nested deeper than Python's parser goes


def _utc(epoch_us: int) -> datetime:
    return datetime.fromtimestamp(epoch_us / 1_000_000, UTC)


def build_ledger(store: LakeStore, bookmark: BookmarkState | None, max_band_ms: int) -> Ledger:
    """Give every raw object of ``store`` its status (module doc); ``bookmark`` None: not known (S3)."""
    records = load_records(store)
    roots = [store.layout.raw, *records.raw_roots]
    files = {table: store.parquet_files(store.layout.table(table)) for table in CURATED_TABLES}
    in_tables: set[str] = set()
    unreadable: list[str] = []
    for table_files in files.values():
        in_tables |= {str(r["source_file"]) for r in _read_columns(table_files, ["source_file"], unreadable)}
    greatest: dict[tuple[str, str], tuple[datetime, str]] = {}
    for row in _read_columns(files["playlist_snapshots"], ["playlist_id", "extracted_at", "source_file"]):
        moment = _utc(row["extracted_at"])
        key = (str(row["playlist_id"]), moment.date().isoformat())
        mine = (moment, raw_key(unquote(str(row["source_file"])), roots))
        greatest[key] = max(greatest.get(key, mine), mine)
    quarantine_files = store.parquet_files(store.layout.quarantine_table)
    reasons = {
        str(r["source_file"]): f"{r['reason']}: {r['detail']}"
        for r in _read_columns(quarantine_files, ["source_file", "reason", "detail"], unreadable)
    }
    quarantined = {raw_key(unquote(uri), roots): reason for uri, reason in reasons.items()}
    quarantined |= {raw_key(uri, roots): reason for uri, reason in reasons.items()}

    ledger = Ledger(records=records.count)
    known = _Known(_keys(in_tables, roots), quarantined, greatest, records)
    listed: set[str] = set()
    for obj in store.raw_objects():
        object_key = raw_key(obj.uri, [store.layout.raw])
        listed.add(object_key)
        ledger.entries.append(_entry(store, obj, object_key, known, bookmark, max_band_ms))
    ledger.orphans = sorted(u for u in in_tables | set(reasons) if not _keys([u], roots) & listed)
    ledger.problems = check_partitions(store, records) if records.count else []
    ledger.unreadable = sorted(set(unreadable))
    return ledger


@dataclass(frozen=True)
class _Known:
    """What the lake's tables, quarantine and write records say about raw keys."""

    tables: set[str]
    quarantined: dict[str, str]
    greatest: dict[tuple[str, str], tuple[datetime, str]]
    records: Records


def _entry(
    store: LakeStore,
    obj: ObjectVersion,
    key: str,
    known: _Known,
    bookmark: BookmarkState | None,
    max_band_ms: int,
) -> Entry:
    reason = known.quarantined.get(key)
    if key in known.tables:
        return Entry(obj, "in_both", f"quarantined as {reason}") if reason else Entry(obj, "in_tables")
    if reason is not None:
        return Entry(obj, "quarantined", reason)
    if bookmark is not None and bookmark.is_new(obj, max_band_ms):
        return Entry(obj, "pending", "newer than the bookmark: the next transform reads it")
    ever_read = key in known.records.read or not known.records.count
    observation = _observation(store, obj) if ever_read else None
    if observation is not None:
        winner = known.greatest.get((observation.playlist_id, observation.snapshot_date))
        if winner is not None and winner > (observation.extracted_at, key):
            return Entry(
                obj,
                "superseded",
                f"playlist {observation.playlist_id} on {observation.snapshot_date}: "
                f"replaced by {store.layout.raw}/{winner[1]}",
            )
    event = known.records.last_event.get(key)
    if event is not None:
        where = (
            "its rows are in no table" if event == "landed" else f"quarantined as {event}, its row is gone"
        )
        return Entry(obj, "lost", f"a run read it; {where}")
    if bookmark is not None and bookmark.high_water_ms is not None:
        mark = datetime.fromtimestamp(bookmark.high_water_ms / 1000, UTC).isoformat()
        return Entry(
            obj,
            "hidden",
            f"never read, and the bookmark will not read it (modified {_iso(obj.modified_ms)}, mark {mark})",
        )
    return Entry(obj, "unaccounted", "in no table and not quarantined")


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat()
