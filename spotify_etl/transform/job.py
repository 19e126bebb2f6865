"""One run of the transform: new raw objects -> merged curated partitions + quarantine -> bookmark commit.

The same function runs inside Glue and locally; the runtime (``RawSource``) supplies the bookmarked read
of raw/ and the commit, which are the only things that differ.

Incremental behaviour:
    * The cursor is the job bookmark: each run reads only the raw objects the bookmark has not seen
      (all of them when the bookmark is disabled or reset).
    * Every (table, snapshot_date) partition that the new observations touch is read back, unioned with
      the new rows, reduced by the merge rule (DESIGN.md s.3) and rewritten as one file. Partitions the run
      does not touch are never read or written.
    * Every table (and the quarantine) is staged before any is swapped in (``writer.py``, I5); a write
      that fails on one object's data quarantines that object as ``unwritable`` (``isolate.py``, I6).
    * Swapping is append-then-delete, never delete-then-append: the staged file is moved into the
      partition, and only then are the partition's previous files deleted. A crash at any point leaves
      either the old rows, or old and new rows side by side; the merge rule is idempotent, so the re-run
      (the bookmark has not moved) yields the same partition as an uninterrupted run (I1).
    * The bookmark is committed after every write succeeded (I3); a failed run leaves it where it was.
"""

from __future__ import annotations

import math
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

from pyspark import StorageLevel
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from spotify_etl.config import TransformConfig
from spotify_etl.transform.isolate import UNWRITABLE, CuratedStage, TableBuilder, stage_curated
from spotify_etl.transform.plausibility import latest_plausible
from spotify_etl.transform.quarantine import stage_quarantine
from spotify_etl.transform.storage import HadoopFileSystem
from spotify_etl.transform.summary import RunSummary
from spotify_etl.transform.validate import check_raw_lines, observations_of, rejects_of
from spotify_etl.transform.writer import MergeRule, PartitionWriter

_GZIP_MAGIC = b"\x1f\x8b"


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
    warnings: list[str] = field(default_factory=list)  # for the run summary (e.g. a bookmark ahead)


class RawSource(Protocol):
    """The runtime's side of a run: the bookmarked read and the commit."""

    def read_new_raw(self, spark: SparkSession) -> RawBatch: ...

    def commit(self) -> bool:
        """Advance the bookmark (when the option says so); return whether it advanced."""
        ...


def choose_shuffle_partitions(raw_bytes: int | None, configured: int | None, parallelism: int) -> int:
    """Size shuffles to the data: about one task per 32 MB of compressed raw, at least the core count."""
    if configured:
        return configured
    if raw_bytes is None:
        return max(2, parallelism * 2)
    return max(parallelism, min(200, math.ceil(raw_bytes / (32 * 1024 * 1024))))


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
    summary.warnings = list(batch.warnings)
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

    checked_df = check_raw_lines(batch.lines_df, batch.whole_objects, latest_plausible(started_at)).persist(
        StorageLevel.MEMORY_AND_DISK
    )
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
        # Phase 1, stage: every table of the run is written under staging before any table changes.
        curated = CuratedStage([], [])
        landed_df = None
        if dates:
            observations_df = observations_of(checked_df)
            curated = stage_curated(
                writer, observations_df, build_tables, merge_rule, config.curated_path, dates
            )
            landed_df = observations_df.select("source_file")
            if curated.unwritable:
                summary.objects_valid -= len(curated.unwritable)
                summary.rejected[UNWRITABLE] = summary.rejected.get(UNWRITABLE, 0) + len(curated.unwritable)
                rejected_rows += curated.unwritable
                unwritable_df = spark.createDataFrame(
                    [(u,) for u, _, _ in curated.unwritable], "source_file string"
                )
                landed_df = landed_df.join(unwritable_df, "source_file", "left_anti")
        rejects_df = None
        if summary.rejected:
            rejects_df = rejects_of(checked_df)
            if rejected_rows:
                rejects_df = rejects_df.unionByName(
                    spark.createDataFrame(rejected_rows, "source_file string, reason string, detail string")
                )
        quarantine = stage_quarantine(writer, fs, config.quarantine_path, rejects_df, landed_df, started_at)

        # Phase 2, swap: renames and deletes only; see spotify_etl/transform/writer.py for a crash here.
        for staged in curated.staged:
            result = writer.swap(staged)
            summary.rows_written[staged.target.name] = result.rows
            summary.files_written[staged.target.name] = result.files
            summary.partitions_touched[staged.target.name] = result.partitions
        if quarantine is not None:
            result = writer.swap(quarantine)
            summary.rows_written["quarantine"] = result.rows
            summary.files_written["quarantine"] = result.files
            summary.partitions_touched["quarantine"] = result.partitions
        writer.discard()
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
