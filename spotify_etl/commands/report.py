"""``spotify-etl report``: run the analysis queries on the catalog and write ``LAKE/report/index.html``.

Exit 0 when the report was written; 1 when it failed: the message names the cause in one line, and
``index.html`` is replaced by a failure page linking the last complete report (``last-good.html``), so a
stale report never looks current.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from spotify_etl.commands.lake_argument import add_lake_argument
from spotify_etl.devtools.report import ReportError, publish_report


def configure(parser: argparse.ArgumentParser) -> None:
    add_lake_argument(parser, "the report is drawn from its catalog")
    parser.add_argument("--out", type=Path, default=None, help="report folder (default: LAKE/report)")


def run(args: argparse.Namespace) -> int:
    try:
        report = publish_report(
            args.lake.catalog_file,
            args.out or args.lake.report_dir,
        )
    except ReportError as error:
        print(f"spotify-etl report: {error}", file=sys.stderr)
        return 1
    for chart in report.charts:
        print(f"  {chart.slug:<16} <- {chart.query_name} ({len(chart.result.rows)} rows)")
    print(f"report: {report.index}")
    return 0
