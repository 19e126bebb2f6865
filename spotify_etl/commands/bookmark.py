"""``spotify-etl bookmark show|reset|rewind --lake DIR``: the local job bookmark of the transform.

``rewind --to TIME`` moves the high-water mark back to TIME (ISO-8601 UTC, e.g. ``2026-11-20T00:00:00Z``,
or a date): the next run reads again every raw object modified after it, which recovers objects hidden
below the band (a backfill landed with old modification times). The merge makes re-reading safe.

Exit codes: 0 done; 2 a corrupt bookmark, a bad ``--to`` (not a time, or outside years 1..9999 UTC), a
rewind forward; 3 another writer holds the lake's lock (``--wait`` waits for it); 4 the bookmark cannot be
written (a read-only lake, a full disk). Every error is one line.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime

from spotify_etl.commands.lake_argument import add_lake_argument, add_wait_argument
from spotify_etl.config import DEFAULT_JOB_NAME, RAW_TRANSFORMATION_CTX


def parse_time(text: str) -> datetime:
    """ISO-8601 (``Z`` or an offset) or a date (midnight UTC); a time without a zone is UTC."""
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an ISO-8601 time like 2026-11-20T00:00:00Z or a date like 2026-11-20 "
            "(years 1 to 9999)"
        ) from None
    try:  # a mark is a UTC instant: 0001-01-01T00:00:00+01:00 is in year 0, which no datetime can hold
        return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)
    except (OverflowError, ValueError):
        raise argparse.ArgumentTypeError(f"{text!r} is outside years 1 to 9999 in UTC") from None


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=("show", "reset", "rewind"))
    add_lake_argument(parser, "its bookmarks live in LAKE/_bookmarks")
    parser.add_argument("--job-name", default=DEFAULT_JOB_NAME)
    parser.add_argument("--to", type=parse_time, metavar="TIME", help="rewind: the new mark (ISO-8601 UTC)")
    add_wait_argument(parser)


def run(args: argparse.Namespace) -> int:
    from spotify_etl.commands.exits import EXIT_BAD_INPUT, EXIT_LOCKED, environment_exit, fail
    from spotify_etl.runtime.local.bookmarks import BookmarkError, LocalBookmarkStore
    from spotify_etl.runtime.local.lock import LakeLocked, writer_lock

    store = LocalBookmarkStore(args.lake.bookmarks, args.job_name, RAW_TRANSFORMATION_CTX)
    try:
        if args.action == "show":
            print(store.describe())
            return 0
        if args.action == "rewind" and args.to is None:
            return fail("bookmark", "rewind needs --to TIME", EXIT_BAD_INPUT)
        on_wait = lambda line: print(f"spotify-etl bookmark: {line}", file=sys.stderr, flush=True)  # noqa: E731
        with writer_lock(args.lake, wait=args.wait, on_wait=on_wait):
            if args.action == "rewind":
                store.rewind(int(args.to.timestamp() * 1000))
                print(
                    f"bookmark rewound: {store.describe()}; the next run reads every object modified after it"
                )
            elif store.reset():
                print(f"bookmark reset: {store.path} deleted; the next run reads every raw object")
            else:
                print(f"no bookmark at {store.path}: nothing to reset")
    except LakeLocked as error:
        return fail("bookmark", error, EXIT_LOCKED)
    except BookmarkError as error:
        return fail("bookmark", error, EXIT_BAD_INPUT)
    except OSError as error:
        return environment_exit("bookmark", error)
    return 0
