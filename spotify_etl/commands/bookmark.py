"""``spotify-etl bookmark show|reset --lake DIR``: the local job bookmark of the transform."""

from __future__ import annotations

import argparse

from spotify_etl.config import DEFAULT_JOB_NAME, RAW_TRANSFORMATION_CTX, LakeLayout


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=("show", "reset"))
    parser.add_argument("--lake", required=True, help="lake directory (bookmarks live in DIR/_bookmarks)")
    parser.add_argument("--job-name", default=DEFAULT_JOB_NAME)


def run(args: argparse.Namespace) -> int:
    from spotify_etl.local.bookmarks import LocalBookmarkStore

    store = LocalBookmarkStore(
        LakeLayout.from_lake(args.lake).bookmarks, args.job_name, RAW_TRANSFORMATION_CTX
    )
    if args.action == "show":
        print(store.describe())
    elif store.reset():
        print(f"bookmark reset: {store.path} deleted; the next run reads every raw object")
    else:
        print(f"no bookmark at {store.path}: nothing to reset")
    return 0
