"""The audit's content check: the lake against the runs' write records (spotify_etl/transform/record.py).

The records are folded in their order: for each curated (table, partition) the latest record names the files it
must hold (name, rows, bytes, SHA-256); the objects every record read are the ones the audit may call
``superseded`` (read, then replaced by the merge rule) rather than ``hidden`` (never read); the last thing a
record says of an object (landed, or rejected with a reason) is what the tables or the quarantine must show.

A partition is reported when it is **deleted** (the record names files, the lake has none), **altered** (a file
missing, added, of another size or checksum), or **interrupted** (it still holds files the latest record's run
was replacing: that run died in its swap, and the next run, the bookmark unmoved, completes it), or
**unlisted** (its manifest, what readers read, is missing or names other files than the record). Each report
names the raw objects to reprocess: every object a record landed with that ``snapshot_date``, since the merge
rebuilds a partition from exactly those (I1).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from spotify_etl.audit.stores import LakeStore
from spotify_etl.lake import MANIFEST_NAME, manifest_entries
from spotify_etl.transform.record import RECORD_FORMAT, records_folder
from spotify_etl.transform.registry import CURATED_TABLES

PARTITION_COLUMN = "snapshot_date"


@dataclass
class Records:
    """What the write records say, folded in order."""

    count: int = 0
    raw_roots: list[str] = field(default_factory=list)
    read: set[str] = field(default_factory=set)  # raw keys of every object a run read
    last_event: dict[str, str] = field(default_factory=dict)  # raw key -> "landed" or the rejection reason
    landed_by_date: dict[str, set[str]] = field(default_factory=dict)
    partitions: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)  # latest entry each


@dataclass(frozen=True)
class PartitionProblem:
    table: str
    value: str
    kind: str  # deleted | altered | interrupted | unlisted
    detail: str
    objects: list[str]  # raw keys to reprocess


def load_records(store: LakeStore) -> Records:
    """Fold every record of the lake (none: a lake written before records existed)."""
    folded = Records()
    found = store.files(records_folder(store.layout.curated), ".json")
    for name in sorted(found):
        record = json.loads(Path(found[name]).read_bytes())
        if record.get("format") != RECORD_FORMAT:
            continue
        folded.count += 1
        if record["raw_root"] not in folded.raw_roots:
            folded.raw_roots.append(record["raw_root"])
        for value, keys in record["landed"].items():
            folded.landed_by_date.setdefault(value, set()).update(keys)
            folded.read.update(keys)
            folded.last_event.update(dict.fromkeys(keys, "landed"))
        folded.read.update(record["rejected"])
        folded.last_event.update(record["rejected"])
        for table, partitions in record["tables"].items():
            for value, entry in partitions.items():
                folded.partitions[(table, value)] = entry
    return folded


def _sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def check_partitions(store: LakeStore, records: Records) -> list[PartitionProblem]:
    """Every recorded curated partition whose files are not the ones its latest record names."""
    problems = []
    for table in CURATED_TABLES:
        present: dict[str, dict[str, str]] = {}
        for key, path in store.files(store.layout.table(table), ".parquet").items():
            folder, _, name = key.rpartition("/")
            if folder.startswith(f"{PARTITION_COLUMN}=") and "/" not in folder:
                present.setdefault(folder.split("=", 1)[1], {})[name] = path
        manifests = _manifests(store, table)
        for (recorded_table, value), entry in sorted(records.partitions.items()):
            if recorded_table == table:
                problem = _check_one(table, value, entry, present.get(value, {}))
                if problem is None and manifests:
                    problem = _check_manifest(entry, manifests.get(value))
                if problem is not None:
                    objects = sorted(records.landed_by_date.get(value, ()))
                    problems.append(PartitionProblem(table, value, problem[0], problem[1], objects))
    return problems


def _manifests(store: LakeStore, table: str) -> dict[str, str]:
    """Partition value -> its manifest's local path; {} for a table with none (a lake written before them)."""
    found = {}
    for key, path in store.files(store.layout.symlinks(table), MANIFEST_NAME).items():
        folder, _, name = key.rpartition("/")
        if name == MANIFEST_NAME and folder.startswith(f"{PARTITION_COLUMN}=") and "/" not in folder:
            found[folder.split("=", 1)[1]] = path
    return found


def _check_manifest(entry: dict[str, Any], manifest: str | None) -> tuple[str, str] | None:
    """The partition's manifest (what readers read) must list exactly the recorded files, by name."""
    expected = sorted(f["name"] for f in entry["files"])
    if manifest is None:
        return ("unlisted", "its manifest is missing: readers see none of its rows") if expected else None
    listed = sorted(uri.rsplit("/", 1)[-1] for uri in manifest_entries(Path(manifest).read_bytes()))
    if listed != expected:
        return "unlisted", f"its manifest lists {', '.join(listed) or 'nothing'}, not the recorded files"
    return None


def _check_one(
    table: str, value: str, entry: dict[str, Any], present: dict[str, str]
) -> tuple[str, str] | None:
    expected = {f["name"]: f for f in entry["files"]}
    if not present:
        if not expected:
            return None
        rows = sum(f["rows"] for f in expected.values())
        return "deleted", f"{len(expected)} file(s), {rows} rows recorded; none in the lake"
    if set(present) != set(expected):
        if set(present) <= set(expected) | set(entry["replaces"]) and set(present) & set(entry["replaces"]):
            return "interrupted", "still holds files a run was replacing when it stopped: run transform again"
        missing = sorted(set(expected) - set(present))
        extra = sorted(set(present) - set(expected))
        return "altered", "; ".join(
            [
                *([f"missing {', '.join(missing)}"] if missing else []),
                *([f"not recorded {', '.join(extra)}"] if extra else []),
            ]
        )
    for name, path in sorted(present.items()):
        size = Path(path).stat().st_size
        if size != expected[name]["bytes"] or _sha256(path) != expected[name]["sha256"]:
            return (
                "altered",
                f"{name}: content differs from the record ({size} bytes, {expected[name]['bytes']} recorded)",
            )
    return None
