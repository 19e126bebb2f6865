"""Stage the six curated tables; when one object's data makes the write fail, quarantine it as ``unwritable``.

A write failure that depends on the data (a value a writer refuses, an expression that raises on one
row) would otherwise fail every run that includes the object, forever: the bookmark does not move past a
failed run. So when staging fails, the valid objects of the batch are bisected: each half is staged on
its own (to a probe area that is discarded), and the halves that still fail are split again down to
single objects. Those objects are quarantined with reason ``unwritable`` and the error's first line; the
rest are staged again, and land.

A failure is blamed on objects only when the bisection finds a strict subset of the batch to blame. When
every object fails on its own (a bug that fails every row), more than ``MAX_UNWRITABLE`` objects fail
alone, or no subset fails alone (two objects that only fail together), the original error is raised and
the run fails, with the bookmark unmoved: a failure that is not one object's must never quarantine the
whole batch. An environment fault (a full disk, a read-only file system, permissions, S3 throttling or the
network; ``faults.py``) is never bisected: the first one, of the batch or of any probe, stops the run at
once as an ``EnvironmentFault``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial

from py4j.protocol import Py4JJavaError
from pyspark.errors.exceptions.captured import CapturedException
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from spotify_etl.lake import table_symlinks
from spotify_etl.transform.concurrent import run_all
from spotify_etl.transform.driver_rows import driver_rows
from spotify_etl.transform.faults import as_environment_fault
from spotify_etl.transform.registry import CURATED_TABLES, TABLE_SCHEMAS
from spotify_etl.transform.schema import SOURCE_FILES
from spotify_etl.transform.writer import MergeRule, PartitionWriter, StagedTable, TableTarget

# What a failed Spark write raises in pyspark 3.5: a converted JVM exception, or the raw Py4J error.
WRITE_ERRORS: tuple[type[Exception], ...] = (CapturedException, Py4JJavaError)
UNWRITABLE = "unwritable"
_PROBE_AREA = "probe"
_OUT_AREA = "out"
_DETAIL_CHARS = 300
# More objects than this failing alone is not "one object's data": the run fails instead (and bisection,
# which costs about log2(batch) staging probes per object found, stays bounded).
MAX_UNWRITABLE = 10

TableBuilder = Callable[[DataFrame], dict[str, DataFrame]]


@dataclass(frozen=True)
class CuratedStage:
    """The staged curated tables of a run and the objects that could not be written."""

    staged: list[StagedTable]
    unwritable: list[tuple[str, str, str]]  # (source_file, "unwritable", detail)


def describe_write_error(error: BaseException) -> str:
    """The first line of the innermost JVM cause (or of the Python error), for a quarantine detail."""
    java = getattr(error, "java_exception", None) or getattr(error, "_origin", None)
    text = str(error)
    if java is not None:
        root = java
        while root.getCause() is not None:
            root = root.getCause()
        text = str(root.toString())
    first = next((line.strip() for line in text.splitlines() if line.strip()), type(error).__name__)
    return f"writing the curated tables failed on this object: {first}"[:_DETAIL_CHARS]


def stage_curated(
    writer: PartitionWriter,
    observations_df: DataFrame,
    build_tables: TableBuilder,
    merge_rule: MergeRule,
    curated_root: str,
    dates: Sequence[str],
    concurrent: bool,
) -> CuratedStage:
    """Stage all six tables of ``observations_df``; isolate objects whose data makes the write fail.

    With ``concurrent`` (``job.OVERLAP``), the six tables are written at once, each from its own thread
    (``concurrent.run_all``)."""

    def stage_all(obs_df: DataFrame, area: str) -> list[StagedTable]:
        tables = build_tables(obs_df)
        unknown = sorted(set(tables) - set(CURATED_TABLES))
        if unknown:
            raise ValueError(f"table builder returned unknown table {unknown[0]!r}")
        calls = [
            partial(writer.stage, _target(table, curated_root, merge_rule), rows_df, dates, area)
            for table, rows_df in tables.items()
        ]
        return run_all(calls, concurrent, raise_first=lambda error: as_environment_fault(error) is not None)

    try:
        return CuratedStage(stage_all(observations_df, _OUT_AREA), [])
    except WRITE_ERRORS as error:
        writer.discard(_OUT_AREA)
        fault = as_environment_fault(error)
        if fault is not None:
            raise fault from None
        sources = sorted(row.source_file for row in observations_df.select("source_file").collect())
        spark = observations_df.sparkSession

        def only(subset: Sequence[str]) -> DataFrame:
            keys_df = driver_rows(spark, [(uri,) for uri in subset], SOURCE_FILES)
            return observations_df.join(F.broadcast(keys_df), "source_file", "left_semi")

        def probe(subset: Sequence[str]) -> BaseException | None:
            try:
                stage_all(only(subset), _PROBE_AREA)
                return None
            except WRITE_ERRORS as failure:
                fault = as_environment_fault(failure)
                if fault is not None:
                    raise fault from None
                return failure
            finally:
                writer.discard(_PROBE_AREA)

        culprits = _bisect(sources, error, probe)
        if not culprits or len(culprits) == len(sources) or len(culprits) > MAX_UNWRITABLE:
            raise
        good = [uri for uri in sources if uri not in culprits]
        staged = stage_all(only(good), _OUT_AREA)
        return CuratedStage(staged, [(uri, UNWRITABLE, culprits[uri]) for uri in sorted(culprits)])


def _target(table: str, curated_root: str, merge_rule: MergeRule) -> TableTarget:
    return TableTarget(
        table,
        f"{curated_root}/{table}",
        TABLE_SCHEMAS[table],
        "snapshot_date",
        merge_rule,
        symlinks=table_symlinks(curated_root, table),
    )


def discard_stage(writer: PartitionWriter) -> None:
    """Delete what :func:`stage_curated` staged (to stage the batch again, smaller)."""
    writer.discard(_OUT_AREA)


def _bisect(
    subset: Sequence[str],
    error: BaseException,
    probe: Callable[[Sequence[str]], BaseException | None],
    found: dict[str, str] | None = None,
) -> dict[str, str]:
    """The objects of ``subset`` (which failed with ``error``) that fail on their own -> error detail.

    Stops once more than ``MAX_UNWRITABLE`` are found (the caller then fails the run)."""
    found = {} if found is None else found
    if len(subset) == 1:
        found[subset[0]] = describe_write_error(error)
        return found
    half = len(subset) // 2
    for part in (subset[:half], subset[half:]):
        if len(found) > MAX_UNWRITABLE:
            break
        failure = probe(part)
        if failure is not None:
            _bisect(part, failure, probe, found)
    return found
