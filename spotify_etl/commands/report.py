"""``spotify-etl report``: run the analysis queries on the catalog and write ``LAKE/report/index.html``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from spotify_etl.local.athena import QueryError, load_queries, run_named_queries
from spotify_etl.local.catalog import CatalogError, catalog_path_for
from spotify_etl.local.report import build_report


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--lake", type=Path, default=Path("lake"), help="lake directory (default: ./lake)")
    parser.add_argument("--out", type=Path, default=None, help="report folder (default: LAKE/report)")


def run(args: argparse.Namespace) -> int:
    try:
        results = run_named_queries(catalog_path_for(args.lake))
    except (QueryError, CatalogError) as error:
        print(f"spotify-etl report: {error}", file=sys.stderr)
        return 1
    questions = {n: q.question for n, q in load_queries().items()}
    report = build_report(
        results,
        args.out or Path(args.lake) / "report",
        questions,
        extra=(
            "daily_chart_rank_change",
            "new_entries_and_dropouts",
            "longest_running_tracks",
            "release_recency",
        ),
    )
    for chart in report.charts:
        print(f"  {chart.slug:<16} <- {chart.query_name} ({len(chart.result.rows)} rows)")
    print(f"report: {report.index}")
    return 0
