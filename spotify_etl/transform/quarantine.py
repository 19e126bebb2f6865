"""The quarantine table: one row per rejected raw object, and how a later success supersedes it.

Rows are merged on ``(source_file, rejected_date)``: re-running over the same bad object on the same day
keeps one row (the latest rejection). An object that lands in the curated tables (a targeted reprocess
after a fix, a rule that no longer rejects it) has its quarantine rows deleted in the same run, in every
``rejected_date`` partition that holds one, so that no object is ever both in the tables and in the
quarantine (I2).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from spotify_etl.lake import QUARANTINE_TABLE
from spotify_etl.transform.driver_rows import driver_rows
from spotify_etl.transform.schema import QUARANTINE, REJECTION
from spotify_etl.transform.storage import HadoopFileSystem
from spotify_etl.transform.writer import PartitionWriter, StagedTable, TableTarget

PARTITION_COLUMN = "rejected_date"


def quarantine_rule(_table: str, rows_df: DataFrame) -> DataFrame:
    """Quarantine merge: one row per (source_file, rejected_date), the latest rejection."""
    best = F.max_by(
        F.struct(*[c for c in QUARANTINE.fieldNames() if c not in ("source_file", PARTITION_COLUMN)]),
        F.col("rejected_at"),
    )
    return (
        rows_df.groupBy("source_file", PARTITION_COLUMN)
        .agg(best.alias("r"))
        .select("source_file", "r.*", PARTITION_COLUMN)
        .select(*QUARANTINE.fieldNames())
    )


def stage_quarantine(
    writer: PartitionWriter,
    fs: HadoopFileSystem,
    quarantine_root: str,
    rejects_df: DataFrame | None,
    landed_df: DataFrame | None,
    started_at: datetime,
) -> StagedTable | None:
    """Stage today's rejections, and the removal of the rows of objects that landed; None if no change.

    Args:
        rejects_df: ``source_file, reason, detail`` of this run's rejected objects, or None.
        landed_df: ``source_file`` of this run's objects that were staged into the curated tables, or None.
    """
    spark: SparkSession = writer.spark
    table_root = f"{quarantine_root}/{QUARANTINE_TABLE}"
    superseded: list[str] = []
    if landed_df is not None and fs.list_dirs(table_root):
        held_df = spark.read.schema(QUARANTINE).parquet(table_root).select("source_file", PARTITION_COLUMN)
        superseded = sorted(
            row[PARTITION_COLUMN]
            for row in held_df.join(landed_df, "source_file", "left_semi")
            .select(PARTITION_COLUMN)
            .distinct()
            .collect()
        )
    if rejects_df is None and not superseded:
        return None
    rejected_date = started_at.strftime("%Y-%m-%d")
    partitions: Sequence[str] = sorted({*superseded, *([rejected_date] if rejects_df is not None else [])})
    rows_df = rejects_df if rejects_df is not None else driver_rows(spark, [], REJECTION)
    rows_df = rows_df.withColumn(
        "rejected_at", F.lit(started_at.replace(tzinfo=None)).cast("timestamp")
    ).withColumn(PARTITION_COLUMN, F.lit(rejected_date))

    def rule(table: str, merged_df: DataFrame) -> DataFrame:
        kept_df = merged_df if landed_df is None else merged_df.join(landed_df, "source_file", "left_anti")
        return quarantine_rule(table, kept_df)

    target = TableTarget(QUARANTINE_TABLE, table_root, QUARANTINE, PARTITION_COLUMN, rule)
    return writer.stage(target, rows_df, partitions)
