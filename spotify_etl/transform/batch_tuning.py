"""The Spark settings a run chooses from the size of its batch, before its first Spark job.

``job.run_transform`` calls :func:`tune_for_batch` with the batch's raw bytes, which the local runtime knows
from its listing before anything is read (and makes its JVM's start-up choice from the same threshold,
``spotify_etl.runtime.local.jvm``). Glue's bookmarked reader does not report them; the Glue runtime measures
the text it read instead (``GlueRuntime``, in the job that materializes the read), and the thresholds below
judge that (:func:`judged_bytes`): more bytes than the gzip, so a Glue batch is small only when its text is. The
shuffle width of a large Glue batch stays twice its cores (``choose_shuffle_partitions``). The settings last as
long as the run: ``job.run_transform`` puts the session's own values back when it ends (:func:`settings_kept`).

- **Shuffle width:** about one task per 32 MB of compressed raw, at least the core count; a small batch's is the
  core count (judged on its text on Glue too: adaptive execution is off, so nothing narrows a wider shuffle).
- **Whole-stage code generation off for a small batch.** Spark compiles each stage's operators into one
  generated Java method (``spark.sql.codegen.wholeStage``, on by default). Compiling it costs the same
  whether the stage reads ten rows or ten million; a daily run of a handful of objects writes six tables,
  merges and judges them through dozens of plans, each compiled once and run over a few hundred rows.
  Without it, the same operators run interpreted: the rows and files are identical (the setting chooses how
  the plan executes, not what it computes). Measured in docs/performance.md ("Whole-stage code generation
  for small batches"). A large batch keeps the session's own setting: there the generated code's speed
  pays for its compilation many times over.
- **Adaptive query execution off for a small batch.** AQE (``spark.sql.adaptive.enabled``, on by default)
  re-plans a query at each shuffle from the sizes it observed, and runs each stage as a Spark job of its own:
  a small run is 17 jobs with it, 9 without, and a few hundred rows have nothing to re-plan for (no skew, no
  partitions to coalesce: a small batch's shuffles are one task per core, 2 locally). Same rows and files;
  measured in docs/performance.md ("Adaptive execution off for small batches"). A large batch keeps the
  session's setting.
- **Interpreted projections for a small batch.** Without whole-stage code generation each operator still
  generates, and looks up in the cache of compiled classes, a projection per task (Spark's
  ``CodeGeneratorWithInterpretedFallback``: the Java source is written and its comments stripped by regular
  expressions before the lookup), and a cold run compiles each one with Janino. ``spark.sql.codegen.factoryMode``
  ``NO_CODEGEN`` makes those factories build Spark's interpreted projections and predicates instead: the same
  expressions, evaluated row by row. The setting is internal to Spark (documented for its tests, "not supposed to
  be set by end users"): it is set only for a local-size batch, and tests compare a small batch's tables,
  quarantine and gate with a large batch's. Measured in docs/performance.md ("Interpreted projections for small
  batches").
- **No constraint propagation for a small batch.** Spark's optimizer derives each plan node's constraints (the
  predicates its rows are known to satisfy) to infer filters and to drop filters they imply
  (``spark.sql.constraintPropagation.enabled``, on by default; Spark's own description: it "can sometimes be
  computationally expensive for certain kinds of query plans (such as those with a large number of predicates and
  aliases)"). The six tables' plans are such plans: in a warm small run, the rule that drops implied filters ran
  636 times over six runs, took 0.58 s and dropped none. Without it, the same predicates run (none is added or
  removed) on a few hundred rows; measured in docs/performance.md ("Conform only when needed, no constraint
  propagation for small batches"). A large batch keeps the session's setting: there an inferred filter can spare
  reading rows.

Not a Spark setting, but chosen here from the same size: **the quality gate in one partition per staged
table** (``quality_gate.RunGate.one_partition``) for a batch of at most ``ONE_PARTITION_GATE_BYTES`` of gzip
(of text on Glue), medium batches included. Spark's own plans for the gate's statement over the staged tables
are 43 jobs for make bench's full M run (2,000 objects, 52 MB): shuffles and broadcasts to aggregate and join
a few MB of staged Parquet on a local machine's two cores. In one partition they are 8 jobs, and the gate
1.3-1.5 s shorter (docs/performance.md, "A slower machine, the gate in one partition up to 128 MB, tracks and
albums shaped after the explode"). The same statement over the same rows. A Glue batch is judged on its text,
as above: a daily run of a few playlists gets the one partition, a backfill of more than 128 MB of text keeps
Spark's plans, its staged tables read by many executors.

Not a setting of the batch's size: every batch stages its six tables at once (``job.OVERLAP``).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress

from pyspark.sql import SparkSession

# About 80 raw objects of 25 KB: more than a day's landing of the default four playlists by far, and below
# make bench's S tier (5.2 MB), whose runs keep the large-batch settings.
SMALL_BATCH_BYTES = 2 * 1024 * 1024
WHOLE_STAGE_CODEGEN = "spark.sql.codegen.wholeStage"
ADAPTIVE_EXECUTION = "spark.sql.adaptive.enabled"
CODEGEN_FACTORY_MODE = "spark.sql.codegen.factoryMode"
CONSTRAINT_PROPAGATION = "spark.sql.constraintPropagation.enabled"
SHUFFLE_PARTITIONS = "spark.sql.shuffle.partitions"
# The gate reads what the batch staged: the touched days' merged rows, a few MB of Parquet for make bench's M
# tier. Up to the local runtime's medium batch (the same bound as its JIT choice, runtime/local/jvm.py), or as
# many bytes of text on Glue, one task per table reads them; a larger batch, or one of unknown size, keeps Spark's
# plans.
ONE_PARTITION_GATE_BYTES = 128 * 1024 * 1024
# What a small batch runs with; a large one runs with the session's own values (Spark's defaults unless the
# session was started with others).
SMALL_BATCH_SETTINGS = {
    WHOLE_STAGE_CODEGEN: "false",
    ADAPTIVE_EXECUTION: "false",
    CODEGEN_FACTORY_MODE: "NO_CODEGEN",
    CONSTRAINT_PROPAGATION: "false",
}
# Every setting tune_for_batch sets: what settings_kept puts back.
TUNED_SETTINGS = (SHUFFLE_PARTITIONS, *SMALL_BATCH_SETTINGS)
_MB_PER_SHUFFLE_TASK = 32


def judged_bytes(raw_bytes: int | None, text_bytes: int | None) -> int | None:
    """The size the thresholds judge: the batch's gzip bytes when the runtime knows them (the local listing), else
    the bytes of text its read gave (Glue's), else None (unknown: large). The text measures the work and is several
    times its gzip (make bench's objects: 11; Spotify's recorded responses: 6 to 18): judged on its text, a batch
    counts as small only when it is a fraction of what a small batch's gzip may hold."""
    return raw_bytes if raw_bytes is not None else text_bytes


def is_small_batch(raw_bytes: int | None) -> bool:
    """At most ``SMALL_BATCH_BYTES`` (of gzip, or of text on Glue: :func:`judged_bytes`); an unknown size counts
    as large."""
    return raw_bytes is not None and raw_bytes <= SMALL_BATCH_BYTES


def gate_in_one_partition(raw_bytes: int | None) -> bool:
    """At most ``ONE_PARTITION_GATE_BYTES`` (of gzip, or of text on Glue: :func:`judged_bytes`); an unknown size
    keeps Spark's plans."""
    return raw_bytes is not None and raw_bytes <= ONE_PARTITION_GATE_BYTES


def choose_shuffle_partitions(raw_bytes: int | None, configured: int | None, parallelism: int) -> int:
    """Size shuffles to the data: about one task per 32 MB of compressed raw, at least the core count."""
    if configured:
        return configured
    if raw_bytes is None:
        return max(2, parallelism * 2)
    return max(parallelism, min(200, math.ceil(raw_bytes / (_MB_PER_SHUFFLE_TASK * 1024 * 1024))))


def tune_for_batch(
    spark: SparkSession,
    raw_bytes: int | None,
    configured_partitions: int | None,
    text_bytes: int | None = None,
) -> None:
    """Set the run's shuffle width, and ``SMALL_BATCH_SETTINGS`` for a small batch (a large one gets the values the
    session was started with back, or Spark's defaults), the batch judged by :func:`judged_bytes`. A large batch's
    width comes from its raw bytes only (unknown on Glue: twice the cores)."""
    judged = judged_bytes(raw_bytes, text_bytes)
    small_batch = is_small_batch(judged)
    parallelism = spark.sparkContext.defaultParallelism
    width_from = judged if small_batch else raw_bytes
    partitions = choose_shuffle_partitions(width_from, configured_partitions, parallelism)
    spark.conf.set(SHUFFLE_PARTITIONS, str(partitions))
    started_with = spark.sparkContext.getConf()
    for key, small in SMALL_BATCH_SETTINGS.items():
        own = started_with.get(key)
        if small_batch:
            spark.conf.set(key, small)
        elif own is not None:
            spark.conf.set(key, own)
        else:
            spark.conf.unset(key)


@contextmanager
def settings_kept(spark: SparkSession, keys: Sequence[str] = TUNED_SETTINGS) -> Iterator[None]:
    """The session's values of ``keys`` (default: the settings :func:`tune_for_batch` changes), put back when
    the block ends: one session runs many transforms and other work (the tests, ``make run``'s days and
    reports)."""
    before = {key: spark.conf.get(key, None) for key in keys}
    try:
        yield
    except BaseException:
        with suppress(Exception):  # a JVM that is gone must not hide why the block failed
            _put_back(spark, before)
        raise
    _put_back(spark, before)


def _put_back(spark: SparkSession, values: dict[str, str | None]) -> None:
    for key, value in values.items():
        if value is None:
            spark.conf.unset(key)
        else:
            spark.conf.set(key, value)
