"""The write record: what one run wrote into the lake, so that ``spotify-etl audit`` checks content, not names.

One small JSON object per run, ``<curated>/_records/<sequence>-<run id>.json`` (``_``: no Spark reader, crawler
or Athena table location ever lists it). It says, per curated table and touched ``snapshot_date`` partition,
the files the swap leaves there (name, rows from the Parquet footer, bytes, SHA-256), and which raw objects the
run read: ``landed`` (valid, staged into the tables, by ``snapshot_date``) and ``rejected`` (quarantined, with
the reason). Raw objects are named by their **raw key**, the path below the raw root
(``playlists/ingest_date=.../....json.gz``), so a lake copied to another folder or bucket audits the same.

Crash safety: the record is written under the run's staging folder with the staged tables, and the swap moves
it into ``_records/`` *before* it moves any partition (writer.py). So every partition a record describes is
either as the record says, or still holds the files it ``replaces`` (a crash part-way through the swap, which
the next run repairs, I5); a crash before the swap leaves no record. Records are ordered by their sequence
number (one writer per lake: the lock, MaxConcurrentRuns 1); for each partition the latest record holds.

Cost: one small write per run, plus one footer read and one hash per written file on the driver (no Spark job).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from spotify_etl.lake import RAW_OBJECTS_FOLDER, RAW_ZONE

if TYPE_CHECKING:  # the audit imports this module without Spark
    from spotify_etl.transform.storage import HadoopFileSystem
    from spotify_etl.transform.writer import PartitionWriter, StagedTable

RECORDS_FOLDER = "_records"
RECORD_FORMAT = 1


def raw_key(uri: str, raw_roots: Iterable[str] = ()) -> str:
    """The raw object's key below its raw root: the part of ``uri`` after one of ``raw_roots``, else after the
    last ``/raw/playlists/`` (the stack's and the local lake's layout, docs/design.md s.2), else ``uri``."""
    for root in raw_roots:
        prefix = root.rstrip("/") + "/"
        if uri.startswith(prefix):
            return uri[len(prefix) :]
    marker = f"/{RAW_ZONE}/{RAW_OBJECTS_FOLDER}/"
    at = uri.rfind(marker)
    return uri[at + len(RAW_ZONE) + 2 :] if at >= 0 else uri


def records_folder(curated_root: str) -> str:
    return f"{curated_root.rstrip('/')}/{RECORDS_FOLDER}"


@dataclass(frozen=True)
class WrittenFile:
    name: str  # the file name inside its partition folder, as the swap names it
    rows: int
    bytes: int
    sha256: str


def describe_file(fs: HadoopFileSystem, staged_uri: str, name: str) -> WrittenFile:
    status = fs.status(staged_uri)
    return WrittenFile(name, fs.parquet_rows(staged_uri), status.size, fs.sha256(staged_uri))


def build_record(
    run_id: str,
    started_at: datetime,
    raw_root: str,
    landed: Mapping[str, Iterable[str]],
    rejected: Mapping[str, str],
    tables: Mapping[str, Mapping[str, tuple[list[WrittenFile], list[str]]]],
) -> dict[str, object]:
    """The record as JSON-ready data.

    Args:
        landed: snapshot_date -> source_file URIs of the objects staged into the tables.
        rejected: source_file URI -> quarantine reason.
        tables: table -> partition value -> (the files the swap leaves, the file names it replaces).
    """
    roots = [raw_root]
    return {
        "format": RECORD_FORMAT,
        "run_id": run_id,
        "started_at": started_at.isoformat(),
        "raw_root": raw_root,
        "landed": {d: sorted(raw_key(u, roots) for u in uris) for d, uris in sorted(landed.items())},
        "rejected": {raw_key(u, roots): reason for u, reason in sorted(rejected.items())},
        "tables": {
            table: {
                value: {"files": [vars(f) for f in files], "replaces": sorted(replaces)}
                for value, (files, replaces) in sorted(partitions.items())
            }
            for table, partitions in sorted(tables.items())
        },
    }


def next_record_name(fs: HadoopFileSystem, curated_root: str, run_id: str) -> str:
    """``<sequence>-<run id>.json``, the sequence one above the highest recorded (10 digits, sorts as text)."""
    numbers = [
        int(f.uri.rsplit("/", 1)[-1].split("-", 1)[0])
        for f in fs.list_files(records_folder(curated_root), ".json")
        if f.uri.rsplit("/", 1)[-1].split("-", 1)[0].isdigit()
    ]
    return f"{max(numbers, default=0) + 1:010d}-{run_id}.json"


def encode(record: Mapping[str, object]) -> bytes:
    return json.dumps(record, sort_keys=True, separators=(",", ":")).encode()


def stage_record(
    writer: PartitionWriter,
    staged: Iterable[StagedTable],
    landed: Mapping[str, Iterable[str]],
    rejected: Mapping[str, str],
    raw_root: str,
    curated_root: str,
    started_at: datetime,
) -> tuple[str, str]:
    """Write the run's record under its staging folder; return (staged URI, URI the swap moves it to).

    Only curated tables are described file by file; the quarantine is checked object by object (``rejected``).
    """
    tables: dict[str, dict[str, tuple[list[WrittenFile], list[str]]]] = {}
    for table in staged:
        plan = writer.swap_plan(table)
        tables[table.target.name] = {
            value: (
                [describe_file(writer.fs, source, name) for source, name in part.moves],
                [old.rsplit("/", 1)[-1] for old in part.previous],
            )
            for value, part in plan.items()
        }
    record = build_record(writer.run_id, started_at, raw_root, landed, rejected, tables)
    staged_uri = f"{writer.run_staging}/record.json"
    writer.fs.write_bytes(staged_uri, encode(record))
    final = f"{records_folder(curated_root)}/{next_record_name(writer.fs, curated_root, writer.run_id)}"
    return staged_uri, final
