"""``spotify-etl audit --lake DIR|s3://bucket[/prefix]``: account for every raw object (spotify_etl/audit/ledger.py).

Every raw object is in the curated tables (by ``source_file``), superseded by design (the merge rule), in
the quarantine with its reason, or pending (the bookmark reads it next; local lakes); anything else is
listed with how to reprocess it. The curated partitions are checked against the runs' write records
(spotify_etl/audit/content.py): a deleted or altered partition is listed with the objects to reprocess.

Exit codes: 0 every object is accounted for; 1 some are not (each is listed, with the command that
reprocesses it); 2 usage or misconfiguration (no such lake, bucket unreadable, bookmark unreadable).
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime, timedelta

from spotify_etl.audit.content import PartitionProblem
from spotify_etl.commands.lake_argument import add_lake_argument
from spotify_etl.config import DEFAULT_JOB_NAME, RAW_TRANSFORMATION_CTX
from spotify_etl.lake import LakeLayout, local_path

LABELS = {
    "in_tables": "in the tables",
    "superseded": "superseded (replaced by a later observation of the same playlist and day: the merge rule)",
    "quarantined": "quarantined",
    "pending": "pending (newer than the bookmark: the next transform reads them)",
    "hidden": "HIDDEN (below the bookmark's mark, never read)",
    "in_both": "IN BOTH the tables and the quarantine",
    "lost": "LOST (read by a run, but its rows or quarantine row are gone)",
    "unaccounted": "UNACCOUNTED",
}


def configure(parser: argparse.ArgumentParser) -> None:
    add_lake_argument(parser, "the lake whose raw objects are accounted for", s3_allowed=True)
    parser.add_argument("--job-name", default=DEFAULT_JOB_NAME, help="the transform job (bookmark, hints)")
    parser.add_argument("--verbose", action="store_true", help="list every object with its status")


def reprocess_hints(lake: str, uri: str, modified_ms: int, job_name: str) -> list[str]:
    """How to get one object processed: a targeted reprocess or a bookmark rewind (S3: Glue's ways)."""
    before = datetime.fromtimestamp(modified_ms / 1000, UTC) - timedelta(seconds=1)
    if lake.startswith("s3://"):
        # https://docs.aws.amazon.com/cli/latest/reference/glue/reset-job-bookmark.html (rewind to a run),
        # https://docs.aws.amazon.com/glue/latest/dg/monitor-continuations.html; a copy in place gives the
        # object a new LastModified, so the next bookmarked run reads it (the merge makes that idempotent).
        return [
            f"re-upload: aws s3 cp '{uri}' '{uri}' --metadata-directive REPLACE   (then run the job)",
            f"or rewind: aws glue reset-job-bookmark --job-name {job_name} --run-id <a run before {before:%Y-%m-%dT%H:%M:%SZ}>",
        ]
    return [
        f"reprocess: spotify-etl transform --lake {lake} --reprocess {uri}",
        f"or rewind: spotify-etl bookmark rewind --lake {lake} --to {before:%Y-%m-%dT%H:%M:%SZ}",
    ]


def partition_hints(lake: str, problem: PartitionProblem) -> list[str]:
    """How to rebuild one partition: reprocess every object that landed for its date (after removing an
    altered partition, whose files the reprocess would otherwise read back)."""
    layout = LakeLayout.from_lake(lake)
    folder = f"{layout.table(problem.table)}/snapshot_date={problem.value}"
    uris = [f"{layout.raw}/{key}" for key in problem.objects]
    if problem.kind == "interrupted":
        return [f"re-run: spotify-etl transform --lake {lake}   (on AWS: the next job run)"]
    if lake.startswith("s3://"):
        remove = [f"remove: aws s3 rm --recursive '{folder}/'"] if problem.kind == "altered" else []
        return (
            remove
            + [f"re-upload: aws s3 cp '{u}' '{u}' --metadata-directive REPLACE" for u in uris]
            + ["then run the job"]
        )
    remove = [f"remove: rm -r '{local_path(folder)}'"] if problem.kind == "altered" else []
    quoted = " ".join(f"'{u}'" for u in uris)
    return [*remove, f"reprocess: spotify-etl transform --lake {lake} --reprocess {quoted}"]


def run(args: argparse.Namespace) -> int:
    from spotify_etl.audit.ledger import ACCOUNTED, build_ledger
    from spotify_etl.audit.stores import AuditConfigError, LocalLakeStore, open_store
    from spotify_etl.runtime.local.bookmarks import DEFAULT_MAX_BAND_MS, BookmarkError, LocalBookmarkStore

    try:
        store = open_store(args.lake)
        bookmark = None  # on S3 the bookmark is Glue's, which the audit does not read
        if isinstance(store, LocalLakeStore):
            bookmark = LocalBookmarkStore(
                store.layout.bookmarks, args.job_name, RAW_TRANSFORMATION_CTX
            ).load()
        ledger = build_ledger(store, bookmark, DEFAULT_MAX_BAND_MS)
    except (AuditConfigError, BookmarkError) as error:
        print(f"spotify-etl audit: {error}", file=sys.stderr)
        return 2
    counts = ledger.counts()
    print(f"audit of {args.lake}: {len(ledger.entries)} raw objects")
    for status, label in LABELS.items():
        if counts[status] or status in ("in_tables", "quarantined"):
            print(f"  {counts[status]:>7}  {label}")
    if not ledger.records:
        print("note: no write records in this lake (written before they existed): names checked, not content")
    for entry in ledger.entries if args.verbose else ledger.needing_action():
        print(f"{entry.status}: {entry.obj.uri}" + (f"  ({entry.detail})" if entry.detail else ""))
        if entry.status not in ACCOUNTED:
            for hint in reprocess_hints(args.lake, entry.obj.uri, entry.obj.modified_ms, args.job_name):
                print(f"    {hint}")
    for problem in ledger.problems:
        print(f"{problem.kind} partition: {problem.table}/snapshot_date={problem.value}  ({problem.detail})")
        for hint in partition_hints(args.lake, problem):
            print(f"    {hint}")
    if ledger.orphans:
        print(
            f"note: {len(ledger.orphans)} source_file(s) in the tables or quarantine no longer listed in raw/"
        )
    missing = ledger.needing_action()
    if missing:
        print(f"{len(missing)} of {len(ledger.entries)} raw objects NOT accounted for (listed above)")
    if ledger.problems:
        print(f"{len(ledger.problems)} curated partition(s) differ from the write record (listed above)")
    for path in ledger.unreadable:
        print(
            f"unreadable Parquet file: {path}  (remove its partition and reprocess the partition's objects)"
        )
    if missing or ledger.problems or ledger.unreadable:
        return 1
    print(f"all {len(ledger.entries)} raw objects accounted for")
    return 0
