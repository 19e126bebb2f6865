"""``make run``'s data quality step: judge the lake by ``quality/``, record the results, register them.

After the last day's workflow, the rules of ``quality/`` are evaluated on the lake exactly as
``spotify-etl quality`` evaluates them (DuckDB on the Parquet, :func:`spotify_etl.quality.duckdb_lake.judge_lake`),
with ``now()`` at the last simulated day's extract moment (so that freshness is judged on the simulated
clock), the results are appended to ``data_quality_results`` and the crawler registers their partition,
so the report's data quality section (``sql/athena/queries/data_quality_latest.sql``) reads them. A
failed rule does not fail the run: it is printed, recorded and reported.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import duckdb

from spotify_etl.aws_twin.crawler import CrawlResult, crawl_lake
from spotify_etl.devtools.errors import PipelineError
from spotify_etl.lake import LakeLayout
from spotify_etl.quality.dqdl import DqdlError
from spotify_etl.quality.duckdb_lake import MissingTableError, judge_lake
from spotify_etl.quality.evaluate import RuleResult, TranslationError, load_rulesets
from spotify_etl.quality.results import new_run_id, record_results

Say = Callable[[str], None]


def judge_and_record(
    lake: LakeLayout | Path, clock: datetime, say: Say
) -> tuple[list[RuleResult], CrawlResult]:
    """Evaluate every rule on ``lake``, append the results, re-crawl; returns the results and the crawl."""
    layout = LakeLayout.of(lake)
    try:
        results = judge_lake(layout, load_rulesets(), clock)
    except (DqdlError, TranslationError, MissingTableError, duckdb.Error) as error:
        raise PipelineError(f"quality: {str(error).splitlines()[0]}") from error
    recorded = record_results(layout, results, new_run_id(clock), clock, "make run")
    crawl = crawl_lake(layout)
    errors = [r for r in results if r.gates]
    warnings = [r for r in results if not r.passed and not r.gates]
    say(
        f"quality: {len(results)} rules, {len(results) - len(errors) - len(warnings)} passed, "
        f"{len(errors)} ERROR failed, {len(warnings)} WARN failed -> {recorded.parent}"
    )
    for result in errors + warnings:
        say(f"  {result.rule.severity} {result.rule.table}: {result.rule.text} ({result.message})")
    return results, crawl
