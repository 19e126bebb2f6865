"""``spotify-etl transform``: one run of the transform job on a local lake.

Exit codes: 0 the run succeeded (objects may have been quarantined: see the summary); 2 bad input (a
missing raw folder, a non-local root, a corrupt bookmark, a ``--reprocess`` URI that names no raw object);
3 another writer holds a lake the run writes (``--wait`` waits for it instead); 4 an environment fault (a
full disk, a read-only lake, permissions: nothing quarantined, bookmark unmoved). Every one prints one line.
"""

from __future__ import annotations

import argparse
import json
import sys

from spotify_etl.commands.lake_argument import add_lake_argument, add_wait_argument
from spotify_etl.config import BOOKMARK_OPTIONS, DEFAULT_BOOKMARK_OPTION, DEFAULT_TARGET_FILE_MB


def configure(parser: argparse.ArgumentParser) -> None:
    add_lake_argument(parser, "reads LAKE/raw, writes LAKE/curated and LAKE/quarantine")
    parser.add_argument("--bookmark-option", choices=BOOKMARK_OPTIONS, default=DEFAULT_BOOKMARK_OPTION)
    parser.add_argument("--raw", help="raw root URI (default DIR/raw)")
    parser.add_argument("--curated", help="curated root URI (default DIR/curated)")
    parser.add_argument("--quarantine", help="quarantine root URI (default DIR/quarantine)")
    parser.add_argument(
        "--target-file-mb",
        type=int,
        default=DEFAULT_TARGET_FILE_MB,
        help="split a partition file only above this size",
    )
    parser.add_argument(
        "--shuffle-partitions", type=int, help="fixed shuffle width (default: sized to the input)"
    )
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    parser.add_argument(
        "--reprocess",
        nargs="+",
        metavar="URI",
        default=(),
        help="process exactly these raw objects (URIs as 'spotify-etl audit' prints them); bookmark untouched",
    )
    add_wait_argument(parser)


def run(args: argparse.Namespace) -> int:
    from spotify_etl.commands.exits import EXIT_BAD_INPUT, EXIT_LOCKED, environment_exit, fail
    from spotify_etl.runtime.local.bookmarks import BookmarkError
    from spotify_etl.runtime.local.lock import LakeLocked
    from spotify_etl.runtime.local.transform import config_for_lake, run_local_transform

    try:
        config, bookmarks = config_for_lake(
            args.lake,
            bookmark_option=args.bookmark_option,
            raw=args.raw,
            curated=args.curated,
            quarantine=args.quarantine,
            target_file_mb=args.target_file_mb,
            shuffle_partitions=args.shuffle_partitions,
        )
        summary = run_local_transform(
            config,
            bookmarks_root=bookmarks,
            reprocess=tuple(args.reprocess),
            wait=args.wait,
            on_wait=lambda line: print(f"spotify-etl transform: {line}", file=sys.stderr, flush=True),
        )
    except LakeLocked as error:
        return fail("transform", error, EXIT_LOCKED)
    except (FileNotFoundError, ValueError, BookmarkError) as error:
        return fail("transform", error, EXIT_BAD_INPUT)
    except Exception as error:
        return environment_exit("transform", error)
    print(json.dumps(summary.to_dict(), indent=1, sort_keys=True) if args.json else summary.format())
    return 0
