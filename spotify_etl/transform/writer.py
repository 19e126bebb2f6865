"""Writing a run's output: stage every table, then swap the staged partitions in (docs/design.md s.3, I5).

A run's writes have two phases:

1. **Stage.** Each table's touched partitions are merged (new rows + the rows already there) and written
   under ``<staging>/<run id>/<table>/``. Nothing in curated/ or quarantine/ changes. Every failure that
   depends on the data (a value a writer refuses, a merge that raises) happens here, before any table
   changed, so a failed stage leaves all six tables as they were.
2. **Swap.** Only when every table is staged, per partition: (a) the staged files are moved into the
   partition's data folder under new names (no reader looks at them yet); (b) the partition's manifest,
   ``<curated>/symlinks/<table>/snapshot_date=.../symlink.txt``, is replaced in one step by the list of the
   new files: this is the switch, and the catalog's tables read their partitions through these manifests
   (SymlinkTextInputFormat); (c) the files it no longer lists are deleted. A reader (Athena, the local
   twin, this writer's own read-back) sees each partition's last complete write at every instant. A crash
   part-way leaves some partitions switched and some not, and unlisted files in data folders; the bookmark
   has not moved, so the next run reads the same objects again, rewrites the same partitions and the
   idempotent merge rule gives the tables one clean run gives (I1). docs/design.md I5 has the guarantee.
   A table without a manifest folder (the quarantine) is swapped by (a) then deleting the old files.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql.types import StructType

from spotify_etl.lake import MANIFEST_NAME, manifest_entries
from spotify_etl.transform.conform import conform
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
    symlinks: str | None = None  # the catalog's location (one manifest per partition); None: read by folder

    def folder(self, value: str) -> str:
        return f"{self.root}/{self.partition_column}={value}"

    def manifest(self, value: str) -> str | None:
        if self.symlinks is None:
            return None
        return f"{self.symlinks}/{self.partition_column}={value}/{MANIFEST_NAME}"


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
    # A small batch (``batch_tuning.is_small_batch``): each table's rows are merged and written by one task,
    # without a shuffle (below).
    one_partition: bool = False

    @property
    def run_staging(self) -> str:
        return f"{self.staging_root}/{self.run_id}"

    def stage(
        self, target: TableTarget, rows_df: DataFrame, partitions: Sequence[str], area: str = "out"
    ) -> StagedTable:
        """Merge ``rows_df`` into ``partitions`` of ``target`` and write the result under staging.

        The rows already there are read as readers see them (:meth:`current_files`), never a crashed run's
        unlisted files.
        """
        existing = [uri for value in partitions for uri in self.current_files(target, value)]
        # The new rows in the table's schema; with the rows read back (every column nullable) conformed again.
        conformed_df = conform(rows_df, target.schema)
        if existing:
            existing_df = (
                self.spark.read.schema(target.schema).option("basePath", target.root).parquet(*existing)
            )
            conformed_df = conform(conformed_df.unionByName(existing_df), target.schema)
        # One shuffle per table: hash-partitioning by the partition column satisfies the merge rule's
        # windows (their keys all include it) and leaves each partition's rows in one task, which then
        # writes that partition's single file (I4). The rows are conformed first (the rows read back are all
        # nullable), so that the merge's own conform leaves the partition column as it is: an expression
        # over it would be a new column to the planner, which would shuffle again by the window's key.
        # In one partition (a small batch), the rows are coalesced instead: one partition, which Spark knows
        # satisfies every window, so the table's stage is one task and no shuffle (docs/performance.md, "The
        # gate in one partition").
        partitioned_df = (
            conformed_df.coalesce(1)
            if self.one_partition
            else conformed_df.repartition(max(1, len(partitions)), target.partition_column)
        )
        merged_df = conform(target.merge_rule(target.name, partitioned_df), target.schema)
        staged_root = f"{self.run_staging}/{area}/{target.name}"
        max_rows = max(1, self.target_file_mb * 1024 * 1024 // _BYTES_PER_ROW_ESTIMATE)
        (
            merged_df.write.mode("overwrite")
            .option("maxRecordsPerFile", max_rows)
            .partitionBy(target.partition_column)
            .parquet(staged_root)
        )
        return StagedTable(target, staged_root, tuple(sorted(set(partitions))))

    def current_files(self, target: TableTarget, value: str) -> list[str]:
        """The files of one partition that readers see: those its manifest lists, else (no manifest: a lake
        written before manifests, or a table read by folder) the Parquet files of its folder.

        A manifest's entries are taken by name among the files of the partition's data folder, where the swap
        puts every file it lists: a local lake copied to another folder merges its own files, and a listed
        file deleted by hand (``audit`` names the partition) is not read, so reprocessing rebuilds it.
        """
        folder = target.folder(value)
        present = [f.uri for f in self.fs.list_files(folder, ".parquet")]
        manifest = target.manifest(value)
        if manifest is None or not self.fs.exists(manifest):
            return present
        listed = {uri.rsplit("/", 1)[-1] for uri in manifest_entries(self.fs.read_bytes(manifest))}
        return [uri for uri in present if uri.rsplit("/", 1)[-1] in listed]

    def swap_plan(self, staged: StagedTable) -> dict[str, PartitionSwap]:
        """What ``swap`` will do, per partition value it changes (the write record describes this).

        ``previous`` is every file of the partition's data folder, listed or not: a crashed run's unlisted
        files go with the ones the new manifest replaces.
        """
        column = staged.target.partition_column
        produced = {
            staged_dir.rstrip("/").rsplit("/", 1)[-1].split("=", 1)[1]: staged_dir
            for staged_dir in self.fs.list_dirs(staged.staged_root)
            if staged_dir.rstrip("/").rsplit("/", 1)[-1].startswith(f"{column}=")
        }
        plan = {}
        for value in sorted(set(staged.partitions) | set(produced)):
            target_dir = staged.target.folder(value)
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
        """Move staged files into their partitions, switch each partition's manifest, delete what it replaced.

        Rows come from the new files' Parquet footers.
        """
        rows = 0
        files = 0
        touched = []
        for value, part in self.swap_plan(staged).items():
            moved = []
            for source, name in part.moves:
                rows += self.fs.parquet_rows(source)
                moved.append(f"{part.target_dir}/{name}")
                self.fs.rename(source, moved[-1])
                files += 1
            manifest = staged.target.manifest(value)
            if manifest is not None:
                text = "".join(f"{uri}\n" for uri in moved).encode()
                self.fs.replace_file(manifest, text, f"{self.run_staging}/manifests")
            for old in part.previous:
                self.fs.delete(old)
            touched.append(value)
        return SwapResult(rows, files, touched)

    def discard(self, area: str | None = None) -> None:
        """Delete this run's staging (one area of it, or all)."""
        self.fs.delete(self.run_staging if area is None else f"{self.run_staging}/{area}", recursive=True)
