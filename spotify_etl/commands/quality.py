"""``spotify-etl quality``: judge the lake's curated tables by the DQDL rules of ``quality/``.

Every rule of every ``quality/<table>.dqdl`` is evaluated by DuckDB on the tables' Parquet files (the
same translation the transform's gate runs on Spark: :mod:`spotify_etl.quality.translate`), and each
rule's outcome is printed with the metric it observed.

Exit codes: 0 every ERROR rule passed (WARN rules may have failed: they are printed); 1 an ERROR rule
failed (the lines marked FAIL name it); 2 the rules cannot be loaded (one line naming the file, the line
and the rule) or a table is missing from the lake.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from spotify_etl.commands.lake_argument import add_lake_argument
from spotify_etl.lake import LakeLayout
from spotify_etl.quality.dqdl import DqdlError
from spotify_etl.quality.duckdb_lake import MissingTableError, judge_lake
from spotify_etl.quality.evaluate import QUALITY_DIR, TranslationError, format_results, load_rulesets
from spotify_etl.quality.results import new_run_id, record_results


def configure(parser: argparse.ArgumentParser) -> None:
    add_lake_argument(parser, "its curated tables are judged")
    parser.add_argument(
        "--rules", type=Path, default=QUALITY_DIR, help="folder of <table>.dqdl rulesets (default: quality/)"
    )
    parser.add_argument(
        "--no-record", action="store_true", help="print only; append nothing to data_quality_results"
    )


def run(args: argparse.Namespace) -> int:
    layout: LakeLayout = args.lake
    clock = datetime.now(UTC)
    try:
        results = judge_lake(layout, load_rulesets(args.rules), clock)
    except (DqdlError, TranslationError, MissingTableError) as error:
        print(f"spotify-etl quality: {error}", file=sys.stderr)
        return 2
    except duckdb.Error as error:
        print(f"spotify-etl quality: {str(error).splitlines()[0]}", file=sys.stderr)
        return 2
    print(format_results(results))
    if not args.no_record:
        recorded = record_results(layout, results, new_run_id(clock), clock, "spotify-etl quality")
        print(f"recorded in {recorded}")
    failing = [r for r in results if r.gates]
    warned = [r for r in results if not r.passed and not r.gates]
    print(
        f"{len(results)} rules: {len(results) - len(failing) - len(warned)} passed, "
        f"{len(failing)} ERROR failed, {len(warned)} WARN failed"
    )
    for result in failing:
        print(
            f"spotify-etl quality: {result.rule.table}: {result.rule.text} failed ({result.message})",
            file=sys.stderr,
        )
    return 1 if failing else 0
