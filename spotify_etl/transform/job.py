"""One run of the transform: new raw objects -> merged curated partitions + quarantine -> bookmark commit.

The same function runs inside Glue and locally; the runtime (``RawSource``) supplies the bookmarked read
of raw/, the objects that read could not read, and the commit, which are the only things that differ.

Incremental behaviour:
    * The cursor is the job bookmark: each run reads only the raw objects the bookmark has not seen
      (all of them when the bookmark is disabled or reset).
    * Every (table, snapshot_date) partition that the new observations touch is read back, unioned with
      the new rows, reduced by the merge rule (docs/design.md s.3) and rewritten as one file. Partitions
      the run does not touch are never read or written.
    * Every table (and the quarantine) is staged before any is swapped in (``writer.py``, I5); a write
      that fails on one object's data quarantines that object as ``unwritable`` (``isolate.py``, I6).
    * Swapping is move, switch, delete: the staged file is moved into the partition's data folder, the
      partition's manifest (what every reader reads) is replaced in one step by the list of the new files,
      and only then are the files it no longer lists deleted. A crash at any point leaves each partition
      readable as its last complete write; the merge rule is idempotent, so the re-run (the bookmark has
      not moved) yields the same partition as an uninterrupted run (I1, I5).
    * The bookmark is committed after every write succeeded (I3); a failed run leaves it where it was.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

from pyspark import StorageLevel
from pyspark.sql import DataFrame, Row, SparkSession
from pyspark.sql import functions as F

from spotify_etl.config import TransformConfig
from spotify_etl.transform import merge, registry
from spotify_etl.transform.batch_tuning import (
    gate_in_one_partition,
    is_small_batch,
    judged_bytes,
    settings_kept,
    tune_for_batch,
)
from spotify_etl.transform.cached import cached
from spotify_etl.transform.concurrent import run_all
from spotify_etl.transform.driver_rows import driver_rows
from spotify_etl.transform.faults import as_environment_fault
from spotify_etl.transform.isolate import UNWRITABLE, CuratedStage, TableBuilder, discard_stage, stage_curated
from spotify_etl.transform.manifests import ensure_manifests
from spotify_etl.transform.plausibility import latest_plausible
from spotify_etl.transform.quality_gate import QUALITY, RunGate, counts, load_gate_rules, without_objects
from spotify_etl.transform.quarantine import stage_quarantine
from spotify_etl.transform.raw_objects import Rejection
from spotify_etl.transform.record import stage_record
from spotify_etl.transform.schema import REJECTION
from spotify_etl.transform.storage import HadoopFileSystem
from spotify_etl.transform.summary import RunSummary
from spotify_etl.transform.validate import check_raw_objects, observations_of, rejects_of
from spotify_etl.transform.writer import PartitionWriter, StagedTable


@dataclass
class RawBatch:
    """What a runtime's bookmarked read of raw/ yields.

    Attributes:
        raw_df: ``source_file`` (the object's URI, exactly as listed) and ``value``: one row per object
            holding its whole text when ``whole_objects`` (the local reader), else one row per line (Glue's
            reader).
        whole_objects: how ``raw_df`` is cut (see above).
        rejected_before_read: objects the runtime rejected without reading them (e.g. a name that is not
            ``.json.gz``, an object Glue's reader cannot decode).
        raw_bytes: compressed size of the new objects, when known (the local listing), to size the shuffle and
            choose the batch's settings (``batch_tuning``).
        text_bytes: bytes of text the read gave, when the runtime measured them (Glue's reader, whose objects'
            sizes are not known): the batch's settings are chosen from them when ``raw_bytes`` is None.
        nothing_new: the runtime knows without a Spark job that there is nothing to read or reject (locally:
            nothing new since the bookmark); the run then only commits.
        warnings: for the run summary (e.g. a bookmark ahead of the objects).
    """

    raw_df: DataFrame
    whole_objects: bool = False
    rejected_before_read: list[Rejection] = field(default_factory=list)
    raw_bytes: int | None = None
    text_bytes: int | None = None
    nothing_new: bool = False
    warnings: list[str] = field(default_factory=list)


class RawSource(Protocol):
    """The runtime's side of a run: the bookmarked read, the objects it could not read, and the commit."""

    def read_new_raw(self, spark: SparkSession) -> RawBatch: ...

    def rejected_after_read(self, checked_df: DataFrame) -> list[Rejection]:
        """Objects the read selected that gave no row of ``checked_df`` (``check_raw_objects`` of the batch),
        with the reason; [] when the runtime's reader fails on such objects instead of skipping them."""
        ...

    def commit(self) -> bool:
        """Advance the bookmark (when the option says so); return whether it advanced."""
        ...


# Whether a run overlaps its Spark work (concurrent.run_all): the tables' build with the verdicts' job, and the
# six tables' writes with each other. At any batch size: in a small batch the writes are latency (planning,
# scheduling) that the others' tasks fill; in a large one (make bench's M tier) each table's jobs end on a tail
# of one task and start after a gap of planning, which the other tables' tasks fill (docs/performance.md, "The
# parse's character count, ..., every batch staged at once"). The tasks running at once are still at most the
# cores, sharing the executor's memory as before (each spills beyond its share), whichever table they belong to.
# The cost: a failing write is raised when all six have ended (concurrent.run_all), in a bisection probe too. A
# test turns it off to compare with a run in turn.
OVERLAP = True


def _new_run_id(now: datetime) -> str:
    return f"{now:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"


def _utc_now() -> datetime:
    return datetime.now(UTC)


def run_transform(
    spark: SparkSession,
    source: RawSource,
    config: TransformConfig,
    *,
    build_tables: TableBuilder | None = None,
    now: Callable[[], datetime] | None = None,
) -> RunSummary:
    """Run the transform once: read -> validate -> build -> write -> commit (module docstring).

    ``build_tables`` replaces ``registry.build_tables`` (a test's seam); ``now`` is the run's clock (default
    the real one).

    Raises:
        EnvironmentFault: the disk, permissions or network failed (``faults.py``): nothing was quarantined
            for it and the bookmark did not move.
    """
    try:
        with settings_kept(spark):  # the batch's settings (tune_for_batch) last as long as the run
            return _run_once(spark, source, config, build_tables, now)
    except Exception as error:
        fault = as_environment_fault(error)
        if fault is None or fault is error:
            raise
        raise fault from None


def _run_once(
    spark: SparkSession,
    source: RawSource,
    config: TransformConfig,
    build_tables: TableBuilder | None,
    now: Callable[[], datetime] | None,
) -> RunSummary:
    started, started_at = time.perf_counter(), (now or _utc_now)()
    fs = HadoopFileSystem(spark)
    # MaxConcurrentRuns is 1: whatever is under staging was left by a run that died; it was never committed.
    fs.delete(config.staging_path, recursive=True)
    ensure_manifests(fs, config.curated_path, config.staging_path)  # a lake written before manifests
    batch = source.read_new_raw(spark)
    summary = RunSummary(bookmark_option=config.bookmark_option, warnings=list(batch.warnings))
    if not batch.nothing_new:  # else: no Spark job at all; the commit records the (unchanged) listing
        tune_for_batch(spark, batch.raw_bytes, config.shuffle_partitions, batch.text_bytes)
        checking_df = check_raw_objects(batch.raw_df, batch.whole_objects, latest_plausible(started_at))
        size = judged_bytes(batch.raw_bytes, batch.text_bytes)
        small = is_small_batch(size)
        gate = RunGate(
            load_gate_rules(),
            started_at,
            config.land_despite_quality_errors,
            one_partition=gate_in_one_partition(size),
        )
        # the checks' plan stays out of every later analysis (cached.py)
        with cached(checking_df, StorageLevel.MEMORY_AND_DISK) as checked_df:
            observations_df = observations_of(checked_df)
            verdicts, first_built_then_build = _verdicts_while_building(
                checked_df, observations_df, build_tables or registry.build_tables
            )
            rejected = [*batch.rejected_before_read, *source.rejected_after_read(checked_df)]
            _count_verdicts(summary, verdicts, rejected)
            run_id = _new_run_id(started_at)
            writer = PartitionWriter(
                spark, fs, config.staging_path, run_id, config.target_file_mb, one_partition=small
            )
            curated, landed_df = _stage_curated(
                writer,
                observations_df,
                verdicts,
                config,
                first_built_then_build,
                summary,
                gate,
            )
            rejected += gate.rows.rejected + curated.unwritable
            _settle_gate(writer, gate, config, summary)
            rejects_df = _rejects(checked_df, rejected) if summary.rejected else None
            quarantine = stage_quarantine(
                writer, fs, config.quarantine_path, rejects_df, landed_df, started_at
            )
            if summary.objects_read:  # a run that read nothing writes nothing, not even a record
                landed, rejected_by_uri = _read_objects(verdicts, rejected)
                record = stage_record(
                    writer,
                    curated.staged,
                    landed,
                    rejected_by_uri,
                    config.raw_path,
                    config.curated_path,
                    started_at,
                )
                _swap(writer, summary, curated.staged, quarantine, record)
            else:
                writer.discard()
    summary.bookmark_committed = source.commit()
    summary.seconds = time.perf_counter() - started
    return summary


def _verdicts_while_building(
    checked_df: DataFrame, observations_df: DataFrame, build: TableBuilder
) -> tuple[list[Row], TableBuilder]:
    """The verdicts, and ``build`` with its first staging's tables built while the verdicts' Spark job ran.

    Building the six tables is driver work (py4j calls, Spark analyzing each plan), the verdicts a Spark job:
    with ``OVERLAP`` they overlap (``concurrent.run_all``). The tables are built on all the
    valid observations, which is what the first staging stages (``observations_df`` itself); any later build
    (a bisection probe, a staging without quarantined objects) builds anew. The gate's row rules are attached
    when a staging uses the tables (``RunGate.observing``), not here: an observed DataFrame that never runs would
    keep its listener registered in the session (a batch of only rejected objects stages nothing)."""
    verdicts: list[Row] = []
    first: list[dict[str, DataFrame]] = []
    run_all(
        [lambda: verdicts.extend(_verdicts(checked_df)), lambda: first.append(build(observations_df))],
        OVERLAP,
    )

    def first_built_then_build(rows_df: DataFrame) -> dict[str, DataFrame]:
        if first and rows_df is observations_df:
            return first.pop()
        return build(rows_df)

    return verdicts, first_built_then_build


def _verdicts(checked_df: DataFrame) -> list[Row]:
    """How many objects got each verdict (``reason``, null when valid) per ``snapshot_date``, and which
    (``sources``: one short URI per object, for the write record; no extra Spark job)."""
    return (
        checked_df.groupBy("reason", "snapshot_date")
        .agg(F.count(F.lit(1)).alias("n"), F.collect_list("source_file").alias("sources"))
        .collect()
    )


def _read_objects(
    verdicts: list[Row], rejected: list[Rejection]
) -> tuple[dict[str, list[str]], dict[str, str]]:
    """For the write record: the landed objects by snapshot_date, and every rejected object's reason."""
    rejected_by_uri = {uri: reason for uri, reason, _ in rejected}
    for row in verdicts:
        if row.reason is not None:
            rejected_by_uri.update(dict.fromkeys(row.sources, row.reason))
    landed = {
        row.snapshot_date: [u for u in row.sources if u not in rejected_by_uri]
        for row in verdicts
        if row.reason is None
    }
    return landed, rejected_by_uri


def _count_verdicts(summary: RunSummary, verdicts: list[Row], rejected: list[Rejection]) -> None:
    """Count the objects read, valid and rejected (by reason) into ``summary``."""
    summary.objects_valid = sum(row.n for row in verdicts if row.reason is None)
    for row in verdicts:
        if row.reason is not None:
            summary.rejected[row.reason] = summary.rejected.get(row.reason, 0) + row.n
    for _, reason, _ in rejected:
        summary.rejected[reason] = summary.rejected.get(reason, 0) + 1
    summary.objects_read = summary.objects_valid + sum(summary.rejected.values())


def _stage_curated(
    writer: PartitionWriter,
    observations_df: DataFrame,
    verdicts: list[Row],
    config: TransformConfig,
    build_tables: TableBuilder,
    summary: RunSummary,
    gate: RunGate,
) -> tuple[CuratedStage, DataFrame | None]:
    """Phase 1, stage: the six tables of the valid observations, written under staging before any table
    changes, and judged there by the gate. Objects whose data makes the write fail are counted as
    ``unwritable``; objects whose staged rows break a row-level ERROR rule of ``quality/`` as ``quality``
    (``gate.rows``), and the batch is staged and judged again without them (each pass removes at least one
    object, so this ends; a clean batch is staged and judged once).

    ``build_tables``' first call may return tables built earlier (``_verdicts_while_building``); each staging
    attaches the gate's row rules to what it builds (``RunGate.observing``).

    Returns the stage (with every unwritable object) and ``source_file`` of the objects staged into the
    tables (None when none was).
    """
    valid = {row.snapshot_date: list(row.sources) for row in verdicts if row.reason is None}
    excluded: set[str] = set()
    unwritable: list[Rejection] = []
    while True:
        remaining = {uri for sources in valid.values() for uri in sources if uri not in excluded}
        dates = sorted(day for day, sources in valid.items() if remaining.intersection(sources))
        if not dates:  # every valid object was quarantined (or none was valid): no table changes
            gate.judged = []
            curated = CuratedStage([], [])
            break
        staged_df = without_objects(observations_df, sorted(excluded))
        curated = stage_curated(
            writer,
            staged_df,
            gate.observing(build_tables),
            merge.apply_merge_rule,
            config.curated_path,
            dates,
            OVERLAP,
        )
        unwritable += curated.unwritable
        excluded |= {uri for uri, _, _ in curated.unwritable}
        verdict = gate.judge(writer, curated.staged, remaining - excluded)
        if not verdict.rejected:
            break
        excluded |= set(verdict.sources)
        discard_stage(writer)
    _count_staging_rejects(summary, gate.rows.rejected, unwritable)
    landed_df = (
        without_objects(observations_df, sorted(excluded)).select("source_file") if curated.staged else None
    )
    return CuratedStage(curated.staged, unwritable), landed_df


def _count_staging_rejects(
    summary: RunSummary, quality: list[Rejection], unwritable: list[Rejection]
) -> None:
    """Move the objects the stage quarantined from valid to their reasons in ``summary``."""
    summary.objects_valid -= len(quality) + len(unwritable)
    for reason, objects in ((QUALITY, quality), (UNWRITABLE, unwritable)):
        if objects:
            summary.rejected[reason] = summary.rejected.get(reason, 0) + len(objects)
    summary.warnings += [f"unwritable, quarantined: {uri}: {detail}" for uri, _, detail in unwritable]


def _settle_gate(
    writer: PartitionWriter, gate: RunGate, config: TransformConfig, summary: RunSummary
) -> None:
    """Record the gate's judgement of the staged partitions, before the swap; raises ``QualityGateFailed``
    (staging discarded) when an ERROR rule failed and the run does not land anyway."""
    try:
        results = gate.settle(writer, config.curated_path)
    finally:
        summary.quality_seconds = gate.seconds
    if results:
        summary.quality = counts(results)
        summary.quality_landed_anyway = bool(summary.quality["error_failed"])


def _rejects(checked_df: DataFrame, rejected: list[Rejection]) -> DataFrame:
    """Every rejected object of the run: the validation's and the ones rejected outside Spark."""
    rejects_df = rejects_of(checked_df)
    if not rejected:
        return rejects_df
    return rejects_df.unionByName(driver_rows(checked_df.sparkSession, rejected, REJECTION))


def _swap(
    writer: PartitionWriter,
    summary: RunSummary,
    curated: list[StagedTable],
    quarantine: StagedTable | None,
    record: tuple[str, str],
) -> None:
    """Phase 2, swap: renames and deletes only; see spotify_etl/transform/writer.py for a crash here.

    The write record goes in first (record.py: it names what each partition holds after the swap, and
    what it held before)."""
    writer.fs.rename(*record)
    labelled = [(staged.target.name, staged) for staged in curated]
    for label, staged in labelled + ([("quarantine", quarantine)] if quarantine is not None else []):
        result = writer.swap(staged)
        summary.rows_written[label] = result.rows
        summary.files_written[label] = result.files
        summary.partitions_touched[label] = result.partitions
    writer.discard()
