"""One run of the transform: new raw objects -> merged curated partitions + quarantine -> bookmark commit.

The same function runs inside Glue and locally; the runtime (``RawSource``) supplies the bookmarked read
of raw/ and the commit, which are the only things that differ.

Incremental behaviour:
    * The cursor is the job bookmark: each run reads only the raw objects the bookmark has not seen
      (all of them when the bookmark is disabled or reset).
    * Every (table, snapshot_date) partition that the new observations touch is read back, unioned with
      the new rows, reduced by the merge rule (DESIGN.md s.3) and rewritten as one file. Partitions the run
      does not touch are never read or written.
    * Rewriting is append-then-delete, never delete-then-append: the new file is staged, moved into the
      partition, and only then are the partition's previous files deleted. A crash at any point leaves
      either the old rows, or old and new rows side by side; the merge rule is idempotent, so the re-run
      (the bookmark has not moved) yields the same partition as an uninterrupted run (I1).
    * The bookmark is committed after every write succeeded (I3); a failed run leaves it where it was.
"""

from __future__ import annotations

import math
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

from pyspark import StorageLevel
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import StructType

from spotify_etl.config import CURATED_TABLES, TransformConfig
from spotify_etl.transform.schema import QUARANTINE, TABLE_SCHEMAS
from spotify_etl.transform.storage import HadoopFileSystem
from spotify_etl.transform.summary import RunSummary
from spotify_etl.transform.validate import check_raw_lines, observations_of, rejects_of

# Rough compressed size of one row, used only to split a partition file that would outgrow target_file_mb.
_BYTES_PER_ROW_ESTIMATE = 64
_GZIP_MAGIC = b"\x1f\x8b"
QUARANTINE_TABLE = "rejected"


@dataclass
class RawBatch:
    """What a runtime's bookmarked read of raw/ yields.

    Attributes:
        lines_df: one row per line of each new object: ``source_file`` (object URI), ``value`` (the line).
        listed: the object URIs the bookmark selected, when the runtime knows them (locally); objects among
            them that yielded no line (unreadable gzip, empty) are then quarantined by name. None on Glue,
            where the DynamicFrame read does not expose the list.
        prejected: objects the runtime rejected before reading (e.g. a name that is not ``.json.gz``):
            ``(source_file, reason, detail)``.
        raw_bytes: compressed size of the new objects, when known, to size the shuffle.
    """

    lines_df: DataFrame
    listed: list[str] | None = None
    prejected: list[tuple[str, str, str]] = field(default_factory=list)
    raw_bytes: int | None = None
    whole_objects: bool = False  # lines_df holds one row per object (its whole text), not one per line


class RawSource(Protocol):
    """The runtime's side of a run: the bookmarked read and the commit."""

    def read_new_raw(self, spark: SparkSession) -> RawBatch: ...

    def commit(self) -> bool:
        """Advance the bookmark (when the option says so); return whether it advanced."""
        ...


TableBuilder = Callable[[DataFrame], dict[str, DataFrame]]
MergeRule = Callable[[str, DataFrame], DataFrame]


def choose_shuffle_partitions(raw_bytes: int | None, configured: int | None, parallelism: int) -> int:
    """Size shuffles to the data: about one task per 32 MB of compressed raw, at least the core count."""
    if configured:
        return configured
    if raw_bytes is None:
        return max(2, parallelism * 2)
    return max(parallelism, min(200, math.ceil(raw_bytes / (32 * 1024 * 1024))))


def _quarantine_rule(_table: str, rows_df: DataFrame) -> DataFrame:
    """Quarantine merge: one row per (source_file, rejected_date), the latest rejection."""
    best = F.max_by(
        F.struct(*[c for c in QUARANTINE.fieldNames() if c not in ("source_file", "rejected_date")]),
        F.col("rejected_at"),
    )
    return (
        rows_df.groupBy("source_file", "rejected_date")
        .agg(best.alias("r"))
        .select("source_file", "r.*", "rejected_date")
        .select(*QUARANTINE.fieldNames())
    )


@dataclass
class PartitionWriter:
    """Merges rows into the Hive partitions of one table and rewrites only the touched partitions."""

    spark: SparkSession
    fs: HadoopFileSystem
    staging_root: str
    run_id: str
    target_file_mb: int

    def write(
        self,
        table: str,
        table_root: str,
        schema: StructType,
        partition_column: str,
        rows_df: DataFrame,
        partitions: Sequence[str],
        merge_rule: MergeRule,
    ) -> tuple[int, int, list[str]]:
        """Merge ``rows_df`` into ``partitions`` of the table at ``table_root``; returns (rows, files, partitions)."""
        existing = [
            f"{table_root}/{partition_column}={value}"
            for value in partitions
            if self.fs.list_files(f"{table_root}/{partition_column}={value}", ".parquet")
        ]
        combined_df = rows_df.select(*schema.fieldNames())
        if existing:
            existing_df = (
                self.spark.read.schema(schema).option("basePath", table_root).parquet(*existing)
            ).select(*schema.fieldNames())
            combined_df = combined_df.unionByName(existing_df)
        # One shuffle per table: hash-partitioning by the partition column satisfies the merge rule's
        # windows (their keys all include it) and leaves each partition's rows in one task, which then
        # writes that partition's single file (I4).
        merged_df = merge_rule(
            table, combined_df.repartition(max(1, len(partitions)), partition_column)
        ).select(*schema.fieldNames())
        staged_root = f"{self.staging_root}/{self.run_id}/{table}"
        max_rows = max(1, self.target_file_mb * 1024 * 1024 // _BYTES_PER_ROW_ESTIMATE)
        (
            merged_df.write.mode("overwrite")
            .option("maxRecordsPerFile", max_rows)
            .partitionBy(partition_column)
            .parquet(staged_root)
        )
        rows, files, touched = self._swap(table_root, staged_root, partition_column)
        self.fs.delete(staged_root, recursive=True)
        return rows, files, touched

    def _swap(self, table_root: str, staged_root: str, partition_column: str) -> tuple[int, int, list[str]]:
        """Move staged files into their partitions, then delete what they replace.

        Returns (rows, files, partitions); rows come from the new files' Parquet footers.
        """
        rows = 0
        files = 0
        touched = []
        for staged_dir in self.fs.list_dirs(staged_root):
            name = staged_dir.rstrip("/").rsplit("/", 1)[-1]
            if not name.startswith(f"{partition_column}="):
                continue
            target_dir = f"{table_root}/{name}"
            previous = self.fs.list_files(target_dir)
            for index, staged in enumerate(self.fs.list_files(staged_dir, ".parquet")):
                rows += self.fs.parquet_rows(staged.uri)
                self.fs.rename(staged.uri, f"{target_dir}/part-{self.run_id}-{index:05d}.snappy.parquet")
                files += 1
            for old in previous:
                self.fs.delete(old.uri)
            touched.append(name.split("=", 1)[1])
        return rows, files, sorted(touched)


def _new_run_id(now: datetime) -> str:
    return f"{now:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"


def run_transform(
    spark: SparkSession,
    source: RawSource,
    config: TransformConfig,
    *,
    build_tables: TableBuilder | None = None,
    merge_rule: MergeRule | None = None,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> RunSummary:
    """Run the transform once: read new raw, write curated + quarantine, then commit the bookmark."""
    if build_tables is None or merge_rule is None:
        from spotify_etl.transform import merge, tables

        build_tables = build_tables or tables.build_tables
        merge_rule = merge_rule or merge.apply_merge_rule

    started = time.perf_counter()
    started_at = now()
    run_id = _new_run_id(started_at)
    fs = HadoopFileSystem(spark)
    summary = RunSummary(bookmark_option=config.bookmark_option)

    # MaxConcurrentRuns is 1: whatever is under staging was left by a run that died; it was never committed.
    fs.delete(config.staging_path, recursive=True)
    batch = source.read_new_raw(spark)
    if batch.listed is not None and not batch.listed and not batch.prejected:
        # Nothing new since the bookmark: no Spark job at all; the commit records the (unchanged) listing.
        summary.bookmark_committed = source.commit()
        summary.seconds = time.perf_counter() - started
        return summary
    parallelism = spark.sparkContext.defaultParallelism
    spark.conf.set(
        "spark.sql.shuffle.partitions",
        str(choose_shuffle_partitions(batch.raw_bytes, config.shuffle_partitions, parallelism)),
    )

    checked_df = check_raw_lines(batch.lines_df, batch.whole_objects).persist(StorageLevel.MEMORY_AND_DISK)
    try:
        verdicts = checked_df.groupBy("reason", "snapshot_date").agg(F.count(F.lit(1)).alias("n")).collect()
        # The runtimes give source_file exactly as listed (names are data): compare as is.
        accounted = (
            {row.source_file for row in checked_df.select("source_file").collect()}
            if batch.listed is not None
            else set()
        )
        rejected_rows = list(batch.prejected)
        if batch.listed is not None:
            unread = [unreadable_object(fs, uri) for uri in batch.listed if uri not in accounted]
            rejected_rows += [r for r in unread if r is not None]

        dates = sorted({row.snapshot_date for row in verdicts if row.reason is None})
        summary.objects_valid = sum(row.n for row in verdicts if row.reason is None)
        for row in verdicts:
            if row.reason is not None:
                summary.rejected[row.reason] = summary.rejected.get(row.reason, 0) + row.n
        for _, reason, _ in rejected_rows:
            summary.rejected[reason] = summary.rejected.get(reason, 0) + 1
        summary.objects_read = summary.objects_valid + sum(summary.rejected.values())

        writer = PartitionWriter(spark, fs, config.staging_path, run_id, config.target_file_mb)
        if dates:
            observations_df = observations_of(checked_df)
            for table, rows_df in build_tables(observations_df).items():
                if table not in CURATED_TABLES:
                    raise ValueError(f"table builder returned unknown table {table!r}")
                rows, files, touched = writer.write(
                    table,
                    f"{config.curated_path}/{table}",
                    TABLE_SCHEMAS[table],
                    "snapshot_date",
                    rows_df,
                    dates,
                    merge_rule,
                )
                summary.rows_written[table] = rows
                summary.files_written[table] = files
                summary.partitions_touched[table] = touched

        if summary.rejected:
            rejected_date = started_at.strftime("%Y-%m-%d")
            stamp = F.lit(started_at.replace(tzinfo=None)).cast("timestamp")
            rejects_df = rejects_of(checked_df)
            if rejected_rows:
                rejects_df = rejects_df.unionByName(
                    spark.createDataFrame(rejected_rows, "source_file string, reason string, detail string")
                )
            rejects_df = rejects_df.withColumn("rejected_at", stamp).withColumn(
                "rejected_date", F.lit(rejected_date)
            )
            rows, files, touched = writer.write(
                QUARANTINE_TABLE,
                f"{config.quarantine_path}/{QUARANTINE_TABLE}",
                QUARANTINE,
                "rejected_date",
                rejects_df,
                [rejected_date],
                _quarantine_rule,
            )
            summary.rows_written["quarantine"] = rows
            summary.files_written["quarantine"] = files
            summary.partitions_touched["quarantine"] = touched
    finally:
        checked_df.unpersist()

    summary.bookmark_committed = source.commit()
    summary.seconds = time.perf_counter() - started
    return summary


def unreadable_object(fs: HadoopFileSystem, uri: str) -> tuple[str, str, str] | None:
    """Name why an object yielded no line: not gzip at all, or gzip holding nothing readable.

    None when the object vanished since it was listed (deleted meanwhile: nothing to quarantine, skipped).
    """
    if not fs.exists(uri):
        return None
    head = fs.head(uri, 2)
    if not head:
        return uri, "empty", "the object has 0 bytes"
    if head != _GZIP_MAGIC:
        return (
            uri,
            "not_gzip",
            f"first bytes {head.hex()} are not the gzip magic 1f8b; raw objects are gzip (DESIGN.md s.2)",
        )
    return uri, "not_gzip", "gzip stream is truncated or corrupt, or holds no line"
