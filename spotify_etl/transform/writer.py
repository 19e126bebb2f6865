"""Writing a run's output: stage every table, then swap the staged partitions in (docs/design.md s.3, I5).

A run's writes have two phases:

1. **Stage.** Each table's touched partitions are merged (new rows + the rows already there) and written
   under ``<staging>/<run id>/<table>/``. Nothing in curated/ or quarantine/ changes. Every failure that
   depends on the data (a value a writer refuses, a merge that raises) happens here, before any table
   changed, so a failed stage leaves all six tables as they were.
2. **Swap.** Only when every table is staged: per partition, the staged file is moved in and the files it
   replaces are deleted (append-then-delete). This is renames and deletes only. A crash part-way leaves
   some partitions new and some old, or old and new files side by side; the bookmark has not moved, so
   the next run reads the same objects again, rewrites the same partitions and the idempotent merge rule
   gives the tables one clean run gives (I1).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql.types import StructType

from spotify_etl.transform.storage import HadoopFileSystem

# Rough compressed size of one row, used only to split a partition file that would outgrow target_file_mb.
_BYTES_PER_ROW_ESTIMATE = 64

MergeRule = Callable[[str, DataFrame], DataFrame]


@dataclass(frozen=True)
class TableTarget:
    """Where one table lives and how its partitions are merged."""

    name: str
    root: str
    schema: StructType
    partition_column: str
    merge_rule: MergeRule


@dataclass(frozen=True)
class StagedTable:
    """One table's merged partitions, written under staging, not yet swapped in."""

    target: TableTarget
    staged_root: str
    partitions: tuple[str, ...]  # every partition the stage covers; one left without rows is emptied


@dataclass(frozen=True)
class PartitionSwap:
    """One partition's swap: staged file -> its name in ``target_dir``, then the ``previous`` files go."""

    target_dir: str
    moves: list[tuple[str, str]]
    previous: list[str]


@dataclass(frozen=True)
class SwapResult:
    rows: int
    files: int
    partitions: list[str]


@dataclass
class PartitionWriter:
    """Merges rows into the Hive partitions of a table (stage), and moves staged partitions in (swap)."""

    spark: SparkSession
    fs: HadoopFileSystem
    staging_root: str
    run_id: str
    target_file_mb: int

    @property
    def run_staging(self) -> str:
        return f"{self.staging_root}/{self.run_id}"

    def stage(
        self, target: TableTarget, rows_df: DataFrame, partitions: Sequence[str], area: str = "out"
    ) -> StagedTable:
        """Merge ``rows_df`` into ``partitions`` of ``target`` and write the result under staging."""
        existing = [
            f"{target.root}/{target.partition_column}={value}"
            for value in partitions
            if self.fs.list_files(f"{target.root}/{target.partition_column}={value}", ".parquet")
        ]
        columns = target.schema.fieldNames()
        combined_df = rows_df.select(*columns)
        if existing:
            existing_df = (
                self.spark.read.schema(target.schema).option("basePath", target.root).parquet(*existing)
            ).select(*columns)
            combined_df = combined_df.unionByName(existing_df)
        # One shuffle per table: hash-partitioning by the partition column satisfies the merge rule's
        # windows (their keys all include it) and leaves each partition's rows in one task, which then
        # writes that partition's single file (I4).
        merged_df = target.merge_rule(
            target.name, combined_df.repartition(max(1, len(partitions)), target.partition_column)
        ).select(*columns)
        staged_root = f"{self.run_staging}/{area}/{target.name}"
        max_rows = max(1, self.target_file_mb * 1024 * 1024 // _BYTES_PER_ROW_ESTIMATE)
        (
            merged_df.write.mode("overwrite")
            .option("maxRecordsPerFile", max_rows)
            .partitionBy(target.partition_column)
            .parquet(staged_root)
        )
        return StagedTable(target, staged_root, tuple(sorted(set(partitions))))

    def swap_plan(self, staged: StagedTable) -> dict[str, PartitionSwap]:
        """What ``swap`` will do, per partition value it changes (the write record describes this)."""
        column = staged.target.partition_column
        produced = {
            staged_dir.rstrip("/").rsplit("/", 1)[-1].split("=", 1)[1]: staged_dir
            for staged_dir in self.fs.list_dirs(staged.staged_root)
            if staged_dir.rstrip("/").rsplit("/", 1)[-1].startswith(f"{column}=")
        }
        plan = {}
        for value in sorted(set(staged.partitions) | set(produced)):
            target_dir = f"{staged.target.root}/{column}={value}"
            previous = [f.uri for f in self.fs.list_files(target_dir)]
            new_files = self.fs.list_files(produced[value], ".parquet") if value in produced else []
            if previous or new_files:
                moves = [
                    (f.uri, f"part-{self.run_id}-{index:05d}.snappy.parquet")
                    for index, f in enumerate(new_files)
                ]
                plan[value] = PartitionSwap(target_dir, moves, previous)
        return plan

    def swap(self, staged: StagedTable) -> SwapResult:
        """Move staged files into their partitions, then delete what they replace.

        Rows come from the new files' Parquet footers.
        """
        rows = 0
        files = 0
        touched = []
        for value, part in self.swap_plan(staged).items():
            for source, name in part.moves:
                rows += self.fs.parquet_rows(source)
                self.fs.rename(source, f"{part.target_dir}/{name}")
                files += 1
            for old in part.previous:
                self.fs.delete(old)
            touched.append(value)
        return SwapResult(rows, files, touched)

    def discard(self, area: str | None = None) -> None:
        """Delete this run's staging (one area of it, or all)."""
        self.fs.delete(self.run_staging if area is None else f"{self.run_staging}/{area}", recursive=True)
