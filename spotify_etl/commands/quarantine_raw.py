"""``spotify-etl quarantine-raw --lake s3://bucket[/prefix] (--since DATE | URI...)``: move the raw objects Glue's
reader cannot decode into the quarantine (spotify_etl/ops/raw_quarantine.py), so that the next job run reads the
rest.

Exit codes: 0 done (the objects moved, or none was undecodable: each is printed); 2 bad arguments or the lake
cannot be read (one line).
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, date, datetime


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--lake", required=True, help="s3://bucket[/prefix] of the deployed lake")
    parser.add_argument(
        "--since", type=date.fromisoformat, help="probe the raw objects of ingest_date DATE..today (UTC)"
    )
    parser.add_argument("uris", nargs="*", metavar="URI", help="probe exactly these raw objects instead")
    parser.add_argument("--dry-run", action="store_true", help="name the undecodable objects, move nothing")


def run(args: argparse.Namespace) -> int:
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    from spotify_etl.ops.raw_quarantine import QuarantineError, S3Lake, candidate_keys, find_undecodable

    try:
        lake = S3Lake(args.lake, boto3.client("s3"))
        keys = candidate_keys(lake, args.uris, args.since, datetime.now(UTC).date())
        verdicts = find_undecodable(lake, keys)
        for verdict in verdicts:
            where = "(dry run: not moved)" if args.dry_run else f"-> {lake.move(verdict)}"
            print(f"{verdict.uri} {where} ({verdict.reason}: {verdict.detail})")
    except (QuarantineError, ClientError, BotoCoreError) as error:
        print(f"ERROR: {(str(error).splitlines() or [''])[0]}", file=sys.stderr)
        return 2
    print(
        f"probed {len(keys)} raw object(s); {len(verdicts)} undecodable" + ("" if args.dry_run else ", moved")
    )
    return 0
