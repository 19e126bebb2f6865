"""``spotify-etl crawl``: register the curated tables of a lake in ``LAKE/catalog.duckdb`` (the crawler)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from spotify_etl.aws_twin.crawler import CatalogError, crawl_lake, default_crawler_spec
from spotify_etl.aws_twin.workflow import DEFAULT_TEMPLATE
from spotify_etl.commands.lake_argument import add_lake_argument


def configure(parser: argparse.ArgumentParser) -> None:
    add_lake_argument(parser, "its curated tables are registered in LAKE/catalog.duckdb")
    parser.add_argument(
        "--template", type=Path, default=DEFAULT_TEMPLATE, help="CloudFormation template whose crawler runs"
    )


def run(args: argparse.Namespace) -> int:
    try:
        result = crawl_lake(args.lake, default_crawler_spec(args.template))
    except CatalogError as error:
        print(f"spotify-etl crawl: {error}", file=sys.stderr)
        return 1
    print(result.format())
    for name, table in sorted(result.tables.items()):
        added = result.partitions_added.get(name, [])
        print(
            f"  {name:<19} {len(table.columns):>2} columns, {len(table.partitions):>3} partitions"
            + (f" (+{len(added)} new)" if added else "")
        )
    return 0
