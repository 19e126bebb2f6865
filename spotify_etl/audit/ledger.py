"""The audit's ledger: where every raw object went (docs/design.md s.3, invariant I2 "nothing lost silently").

Each raw object gets exactly one status:

``in_tables``    its URI is the ``source_file`` of rows in at least one of the six curated tables.
``superseded``   valid and read, but every row it gave was replaced by design: the merge rule keeps, per
                 (playlist_id, snapshot_date), only the greatest observation by (extracted_at, source_file),
                 and ``playlist_snapshots`` holds a greater one for this object's playlist and day; it holds
                 the latest row of no track, album or artist either (an observation that still does is
                 ``in_tables``). The audit reads the object's ``playlist.id`` and ``extracted_at`` to decide.
``quarantined``  in the quarantine table, with its reason.
``pending``      not read yet, and the bookmark will select it on the next run (local lakes only).
``hidden``       not read, and the bookmark never will: its modification time is below the mark, outside
                 the band, and it is not among the band's names (local lakes only).
``in_both``      in the tables *and* quarantined: contradicts I2's "never both".
``unaccounted``  none of the above (on S3, where the audit does not read Glue's bookmark, a not-yet-read
                 object is counted here too).

Accounted: ``in_tables``, ``superseded``, ``quarantined``, ``pending``. Anything else needs action.
"""

from __future__ import annotations

import gzip
import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote

import duckdb

from spotify_etl.audit.stores import LakeStore
from spotify_etl.runtime.local.bookmarks import BookmarkState, ObjectVersion
from spotify_etl.transform.registry import CURATED_TABLES

ACCOUNTED = ("in_tables", "superseded", "quarantined", "pending")
NEEDS_ACTION = ("hidden", "in_both", "unaccounted")


@dataclass(frozen=True)
class Entry:
    obj: ObjectVersion
    status: str
    detail: str = ""


@dataclass
class Ledger:
    entries: list[Entry] = field(default_factory=list)
    orphans: list[str] = field(default_factory=list)  # source_file of rows whose raw object is gone

    def counts(self) -> Counter[str]:
        return Counter(e.status for e in self.entries)

    def needing_action(self) -> list[Entry]:
        return [e for e in self.entries if e.status in NEEDS_ACTION]


def _read_columns(files: list[str], columns: list[str]) -> list[dict[str, Any]]:
    """The columns of every row of the Parquet files (DuckDB; timestamps as microseconds since the epoch)."""
    if not files:
        return []
    select = ", ".join(f"epoch_us({c}) AS {c}" if c == "extracted_at" else c for c in columns)
    with duckdb.connect(":memory:") as con:
        cursor = con.execute(f"SELECT {select} FROM read_parquet(?, union_by_name = true)", [files])
        return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]


def _same_object(uris: Iterable[str]) -> set[str]:
    """URIs as written and percent-decoded: Spark's input_file_name() may encode what the listing does not."""
    found = set()
    for uri in uris:
        found |= {uri, unquote(uri)}
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
        record = json.loads(gzip.decompress(store.read_bytes(obj.uri)))
        moment = datetime.fromisoformat(record["extracted_at"].replace("Z", "+00:00")).astimezone(UTC)
        return _Observation(str(record["playlist"]["id"]), moment)
    except (OSError, EOFError, ValueError, KeyError, TypeError, AttributeError):
        return None


def _utc(epoch_us: int) -> datetime:
    return datetime.fromtimestamp(epoch_us / 1_000_000, UTC)


def build_ledger(store: LakeStore, bookmark: BookmarkState | None, max_band_ms: int) -> Ledger:
    """Give every raw object of ``store`` its status (module doc); ``bookmark`` None: not known (S3)."""
    files = {table: store.parquet_files(store.layout.table(table)) for table in CURATED_TABLES}
    in_tables: set[str] = set()
    for table_files in files.values():
        in_tables |= {str(r["source_file"]) for r in _read_columns(table_files, ["source_file"])}
    greatest: dict[tuple[str, str], tuple[datetime, str]] = {}
    for row in _read_columns(files["playlist_snapshots"], ["playlist_id", "extracted_at", "source_file"]):
        moment = _utc(row["extracted_at"])
        key = (str(row["playlist_id"]), moment.date().isoformat())
        greatest[key] = max(greatest.get(key, (moment, "")), (moment, unquote(str(row["source_file"]))))
    quarantine_files = store.parquet_files(store.layout.quarantine_table)
    reasons = {
        str(r["source_file"]): f"{r['reason']}: {r['detail']}"
        for r in _read_columns(quarantine_files, ["source_file", "reason", "detail"])
    }
    quarantined = {unquote(uri): reason for uri, reason in reasons.items()} | reasons
    tables = _same_object(in_tables)

    ledger = Ledger()
    listed: set[str] = set()
    for obj in store.raw_objects():
        listed.add(obj.uri)
        ledger.entries.append(_entry(store, obj, tables, quarantined, greatest, bookmark, max_band_ms))
    ledger.orphans = sorted(
        u for u in in_tables | set(reasons) if u not in listed and unquote(u) not in listed
    )
    return ledger


def _entry(
    store: LakeStore,
    obj: ObjectVersion,
    tables: set[str],
    quarantined: dict[str, str],
    greatest: dict[tuple[str, str], tuple[datetime, str]],
    bookmark: BookmarkState | None,
    max_band_ms: int,
) -> Entry:
    reason = quarantined.get(obj.uri)
    if obj.uri in tables:
        return Entry(obj, "in_both", f"quarantined as {reason}") if reason else Entry(obj, "in_tables")
    if reason is not None:
        return Entry(obj, "quarantined", reason)
    if bookmark is not None and bookmark.is_new(obj, max_band_ms):
        return Entry(obj, "pending", "newer than the bookmark: the next transform reads it")
    observation = _observation(store, obj)
    if observation is not None:
        winner = greatest.get((observation.playlist_id, observation.snapshot_date))
        if winner is not None and winner > (observation.extracted_at, obj.uri):
            return Entry(
                obj,
                "superseded",
                f"playlist {observation.playlist_id} on {observation.snapshot_date}: replaced by {winner[1]}",
            )
    if bookmark is not None and bookmark.high_water_ms is not None:
        mark = datetime.fromtimestamp(bookmark.high_water_ms / 1000, UTC).isoformat()
        return Entry(
            obj,
            "hidden",
            f"in no table and not quarantined, and the bookmark will not read it again "
            f"(modified {_iso(obj.modified_ms)}, mark {mark})",
        )
    return Entry(obj, "unaccounted", "in no table and not quarantined")


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat()
