"""The ``data_quality_results`` table: one row per rule per evaluation, appended to the lake.

It sits beside the six tables, at ``<curated>/data_quality_results/evaluated_date=YYYY-MM-DD/``, declared
in the template like them (``python -m infra.scripts.catalog_tables``) and registered by the same crawler,
so Athena (``sql/athena/queries/data_quality_latest.sql``) and the local catalog read it. It is only ever
appended to, one new file per evaluation (written under a hidden name, then renamed: a reader or a crawler
never sees half a file), so two evaluations never touch each other's rows and none needs the writer lock.
The transform's gate appends its evaluations too, through Spark and Hadoop's FileSystem
(``transform/quality_gate.py``), with the rows of :func:`result_rows`.
"""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path

from pyspark.sql.types import DoubleType, StringType, StructField, StructType, TimestampType

from spotify_etl.lake import LakeLayout, local_path
from spotify_etl.quality.evaluate import RuleResult

RESULTS_TABLE = "data_quality_results"
RESULTS_PARTITION_KEY = "evaluated_date"
RESULTS_SCHEMA = StructType(
    [
        StructField("run_id", StringType(), False),
        StructField("evaluated_by", StringType(), False),  # "spotify-etl quality", or the transform's run
        StructField("table_name", StringType(), False),
        StructField("rule", StringType(), False),  # the rule as written in quality/<table>.dqdl
        StructField("rule_line", StringType(), False),  # quality/<table>.dqdl:<line>
        StructField("severity", StringType(), False),  # ERROR | WARN
        StructField("outcome", StringType(), False),  # PASS | FAIL
        StructField("observed", DoubleType(), True),  # the metric; NULL when there were no rows
        StructField("message", StringType(), True),
        StructField("evaluated_at", TimestampType(), False),
        StructField(RESULTS_PARTITION_KEY, StringType(), False),
    ]
)


def new_run_id(evaluated_at: datetime) -> str:
    """A sortable, unique id of one evaluation: its clock, then the real time in nanoseconds, so that of two
    evaluations in one second (or on one simulated clock) the later one sorts last, as the query's
    ``max(run_id)`` needs."""
    return f"{evaluated_at.strftime('%Y%m%dT%H%M%SZ')}-{time.time_ns():020d}"


def result_rows(
    results: list[RuleResult], run_id: str, evaluated_at: datetime, evaluated_by: str
) -> list[tuple[object, ...]]:
    """The rows of one evaluation, in ``RESULTS_SCHEMA``'s order without the partition column."""
    return [
        (
            run_id,
            evaluated_by,
            r.rule.table,
            r.rule.text,
            f"quality/{r.rule.table}.dqdl:{r.rule.line}",
            r.rule.severity,
            r.outcome,
            r.observed,
            r.message or None,
            evaluated_at,
        )
        for r in results
    ]


def record_results(
    layout: LakeLayout, results: list[RuleResult], run_id: str, evaluated_at: datetime, evaluated_by: str
) -> Path:
    """Append the results of one evaluation as one Parquet file; returns its path."""
    import duckdb  # not on Glue, whose transform writes its results through Spark (quality_gate.py)

    day = evaluated_at.strftime("%Y-%m-%d")
    folder = local_path(layout.table(RESULTS_TABLE)) / f"{RESULTS_PARTITION_KEY}={day}"
    folder.mkdir(parents=True, exist_ok=True)
    final, hidden = folder / f"part-{run_id}.parquet", folder / f".part-{run_id}.parquet.tmp"
    rows = result_rows(results, run_id, evaluated_at, evaluated_by)
    con = duckdb.connect(":memory:")
    try:
        con.execute("SET TimeZone = 'UTC'")
        con.execute(
            "CREATE TABLE r (run_id VARCHAR, evaluated_by VARCHAR, table_name VARCHAR, rule VARCHAR, "
            "rule_line VARCHAR, severity VARCHAR, outcome VARCHAR, observed DOUBLE, message VARCHAR, "
            "evaluated_at TIMESTAMPTZ)"
        )
        if rows:
            con.executemany("INSERT INTO r VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
        target = str(hidden).replace("'", "''")
        con.execute(f"COPY r TO '{target}' (FORMAT PARQUET, COMPRESSION SNAPPY)")
    finally:
        con.close()
    hidden.replace(final)
    return final
