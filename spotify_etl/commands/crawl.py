"""``spotify-etl crawl``: register the curated tables of a lake in ``LAKE/catalog.duckdb`` (the crawler).

It writes the lake (its catalog), so it holds the lake's writer lock like every writer (``--wait [SECONDS]``).
Exit codes: 0 crawled; 1 the crawl failed (a catalog open in another process or corrupt, unreadable
Parquet: one line says which); 3 another writer holds the lake; 4 the lake cannot be written.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from spotify_etl.aws_twin.crawler import CatalogError, crawl_lake, default_crawler_spec
from spotify_etl.aws_twin.workflow import DEFAULT_TEMPLATE
from spotify_etl.commands.exits import EXIT_FAILED, EXIT_LOCKED, environment_exit, fail
from spotify_etl.commands.lake_argument import add_lake_argument, add_wait_argument
from spotify_etl.runtime.local.lock import LakeLocked, writer_lock


def configure(parser: argparse.ArgumentParser) -> None:
    add_lake_argument(parser, "its curated tables are registered in LAKE/catalog.duckdb")
    parser.add_argument(
        "--template", type=Path, default=DEFAULT_TEMPLATE, help="CloudFormation template whose crawler runs"
    )
    add_wait_argument(parser)


def run(args: argparse.Namespace) -> int:
    on_wait = lambda line: print(f"spotify-etl crawl: {line}", file=sys.stderr, flush=True)  # noqa: E731
    try:
        with writer_lock(args.lake, wait=args.wait, on_wait=on_wait):
            result = crawl_lake(args.lake, default_crawler_spec(args.template))
    except CatalogError as error:
        return fail("crawl", error, EXIT_FAILED)
    except LakeLocked as error:
        return fail("crawl", error, EXIT_LOCKED)
    except OSError as error:
        return environment_exit("crawl", error)
    print(result.format())
    for name, table in sorted(result.tables.items()):
        added = result.partitions_added.get(name, [])
        print(
            f"  {name:<19} {len(table.columns):>2} columns, {len(table.partitions):>3} partitions"
            + (f" (+{len(added)} new)" if added else "")
        )
    return 0
