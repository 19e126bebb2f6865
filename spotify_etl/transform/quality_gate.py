"""The data quality gate inside the transform: the rules of ``quality/*.dqdl``, judged before the swap.

The rules are the ones ``spotify-etl quality`` judges the lake by, through the same translator
(:mod:`spotify_etl.quality.translate`), on Spark, the same code on Glue and locally. The run stages its
tables, then every rule is judged on the staged partitions (the new rows merged with the rows already in
the days the run touches), in one Spark statement. What a failure means depends on who can break the rule
(docs/transform.md, "The gate"):

- **Row-level ERROR rules** name the objects whose rows break them. ``IsComplete`` and ``ColumnValues``
  (without a threshold) are observed on every new row while the stage writes it, before the merge
  (:mod:`spotify_etl.transform.row_rules`), so the verdict on an object never depends on its run;
  ``ReferentialIntegrity`` (asking for every row), which needs the other table, is traced on the staged
  partitions when it fails: the distinct ``source_file`` of the rows that break it, one more statement. The
  objects of the batch among them are quarantined with reason ``quality`` naming the rule and its
  ``file:line``; the caller stages the batch again without them and the gate judges again. The rest of the
  batch lands: one object never stops the lake. A clean batch costs the observations and one judgement.
- **Every other failed ERROR rule** (keys after the merge, ``RowCount``, ``CustomSql``, thresholds, and a
  row-level rule that rows already in the lake break) stops the run (:class:`QualityGateFailed`) unless the
  run was told to land anyway. The references of ``quality/`` all join on ``snapshot_date``, so the staged
  partitions of the referenced table (every table is staged over the same days) are all a reference needs.
  ``RowCount`` counts the whole table: when the staged rows alone fail it, the untouched partitions' rows
  are added from their Parquet footers.

Every evaluation that settles a run appends its results to ``data_quality_results`` (``evaluated_by`` =
``transform``), written through Hadoop's FileSystem (``s3://`` on Glue), as a Parquet file moved in under
its final name.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import StructType

from spotify_etl.quality.dqdl import Rule
from spotify_etl.quality.evaluate import RuleResult, SparkEngine, evaluate_batched, load_rulesets
from spotify_etl.quality.results import RESULTS_PARTITION_KEY, RESULTS_SCHEMA, RESULTS_TABLE, result_rows
from spotify_etl.quality.translate import broken_rows_query, verdict
from spotify_etl.transform.batch_tuning import settings_kept
from spotify_etl.transform.driver_rows import driver_rows
from spotify_etl.transform.isolate import TableBuilder
from spotify_etl.transform.raw_objects import Rejection
from spotify_etl.transform.registry import CURATED_TABLES, TABLE_SCHEMAS
from spotify_etl.transform.row_rules import RowObserver, is_row_level
from spotify_etl.transform.schema import SOURCE_FILES
from spotify_etl.transform.storage import HadoopFileSystem
from spotify_etl.transform.writer import PartitionWriter, StagedTable

QUALITY = "quality"  # the quarantine reason
EVALUATED_BY = "transform"
LANDED_ANYWAY = "landed despite ERROR failures (land_despite_quality_errors)"
BROADCAST_THRESHOLD = "spark.sql.autoBroadcastJoinThreshold"


class QualityGateFailed(RuntimeError):
    """A table-level ERROR rule failed on the staged partitions: nothing was swapped in, the bookmark did not
    move. The message is one line per failed rule, with its observed value."""

    def __init__(self, results: list[RuleResult]) -> None:
        self.results = results  # every rule judged; the failed ERROR ones are ``failures``
        self.failures = [result for result in results if result.gates]
        super().__init__(gate_failure_message(self.failures))


def gate_failure_message(failures: list[RuleResult]) -> str:
    """One line per failed ERROR rule: where it is written, the rule, what it observed."""
    lines = [
        f"data quality gate: {len(failures)} ERROR rule(s) failed on the staged partitions; nothing was "
        "swapped in and the bookmark did not move (docs/transform.md, 'The gate')"
    ]
    for result in failures:
        observed = "no value" if result.observed is None else f"{result.observed:g}"
        lines.append(f"  {rule_location(result.rule)}: {result.rule.text}: observed {observed}")
    return "\n".join(lines)


def rule_location(rule: Rule) -> str:
    return f"quality/{rule.table}.dqdl:{rule.line}"


def load_gate_rules() -> dict[str, list[Rule]]:
    """The rulesets of the curated tables (``quality/<table>.dqdl``), parsed; a bad rule raises DqdlError."""
    return load_rulesets(tables=CURATED_TABLES)


@dataclass(frozen=True)
class RowVerdict:
    """The new rows' verdict: the objects to quarantine as ``quality`` (with the rule in the detail)."""

    rejected: list[Rejection]
    counts: dict[Rule, int] = field(default_factory=dict)  # rule -> objects whose rows break it

    @property
    def sources(self) -> list[str]:
        return [uri for uri, _, _ in self.rejected]


def trace_failed_rules(
    engine: SparkEngine, results: list[RuleResult], tables: list[str], clock: datetime, new_sources: set[str]
) -> dict[Rule, set[str]]:
    """Per failed row-level ERROR rule, the objects of the batch whose staged rows break it: one Spark
    statement (each failed rule's broken rows, distinct ``source_file``), run only when such a rule failed.

    A rule's broken rows that come from no object of the batch (rows already in a touched partition) name
    no object: that rule stays failed, a table-level failure."""
    failed = [r.rule for r in results if not r.passed and is_row_level(r.rule) and r.rule.table in tables]
    if not failed:
        return {}
    statement = " UNION ALL ".join(
        f"SELECT source_file, {rule_id} AS rule_id FROM ({broken_rows_query(rule, clock)}) b{rule_id}"
        for rule_id, rule in enumerate(failed)
    )
    broken: dict[Rule, set[str]] = {}
    for source_file, rule_id in engine.rows(statement):
        if source_file in new_sources:
            broken.setdefault(failed[rule_id], set()).add(source_file)
    return broken


def row_verdict(broken: dict[Rule, set[str]], new_sources: set[str]) -> RowVerdict:
    """The objects among ``new_sources`` that break a rule of ``broken``, each with its first rule (in the
    order of the tables and their files) in the detail."""
    order = {table: i for i, table in enumerate(CURATED_TABLES)}
    rules = sorted(broken, key=lambda rule: (order.get(rule.table, len(order)), rule.table, rule.line))
    by_object: dict[str, list[Rule]] = {}
    for rule in rules:
        for uri in sorted(broken[rule] & new_sources):
            by_object.setdefault(uri, []).append(rule)
    rejected = [(uri, QUALITY, quality_detail(by_object[uri])) for uri in sorted(by_object)]
    return RowVerdict(rejected, dict(Counter(rule for found in by_object.values() for rule in found)))


def quality_detail(broken: list[Rule]) -> str:
    """The quarantine detail: the first rule the object's rows break, where it is written, and how many more."""
    first = broken[0]
    more = f"; and {len(broken) - 1} more rule(s)" if len(broken) > 1 else ""
    return f"rows of {first.table} break the ERROR rule {rule_location(first)}: {first.text}{more}"


def without_objects(rows_df: DataFrame, sources: list[str]) -> DataFrame:
    """``rows_df`` (observations, or a table: both have ``source_file``) without the rows of ``sources``."""
    if not sources:
        return rows_df
    keys_df = driver_rows(rows_df.sparkSession, [(uri,) for uri in sources], SOURCE_FILES)
    return rows_df.join(F.broadcast(keys_df), "source_file", "left_anti")


def _register_staged(
    spark: SparkSession, fs: HadoopFileSystem, staged: list[StagedTable], one_partition: bool
) -> None:
    """A temporary view per table over its staged partitions (an empty one when the stage wrote none); in one
    partition when asked (``RunGate.one_partition``)."""
    for table in staged:
        schema = TABLE_SCHEMAS[table.target.name]
        if fs.list_dirs(table.staged_root):
            df = spark.read.schema(schema).option("basePath", table.staged_root).parquet(table.staged_root)
        else:
            df = driver_rows(spark, [], schema)
        (df.coalesce(1) if one_partition else df).createOrReplaceTempView(table.target.name)


@contextmanager
def _broadcasts_off(spark: SparkSession, off: bool) -> Iterator[None]:
    """No join planned as a broadcast while the block runs (when ``off``); the session's value put back."""
    if not off:
        yield
        return
    with settings_kept(spark, (BROADCAST_THRESHOLD,)):
        spark.conf.set(BROADCAST_THRESHOLD, "-1")
        yield


def _untouched_rows(fs: HadoopFileSystem, table: StagedTable) -> int:
    """Rows of the table's partitions the run does not touch, from their Parquet footers (no Spark job)."""
    column = table.target.partition_column
    touched = {f"{column}={value}" for value in table.partitions}
    return sum(
        fs.parquet_rows(f.uri)
        for folder in fs.list_dirs(table.target.root)
        if folder.rstrip("/").rsplit("/", 1)[-1] not in touched
        for f in fs.list_files(folder, ".parquet")
    )


def _whole_table_row_counts(
    fs: HadoopFileSystem, staged: list[StagedTable], results: list[RuleResult]
) -> list[RuleResult]:
    """A ``RowCount`` rule (without ``where``) that the staged rows fail, judged on the whole table."""
    by_table = {table.target.name: table for table in staged}
    judged = []
    for result in results:
        rule = result.rule
        if rule.rule_type == "RowCount" and not rule.where and not result.passed and rule.table in by_table:
            observed = (result.observed or 0.0) + _untouched_rows(fs, by_table[rule.table])
            passed, message = verdict(rule, observed)
            result = RuleResult(rule, passed, observed, message)
        judged.append(result)
    return judged


def judge_staged(
    spark: SparkSession,
    fs: HadoopFileSystem,
    staged: list[StagedTable],
    rulesets: dict[str, list[Rule]],
    clock: datetime,
    new_sources: set[str],
    one_partition: bool,
) -> tuple[list[RuleResult], dict[Rule, set[str]]]:
    """Every rule of the staged tables on their staged partitions, and per failed row-level ERROR rule the
    objects of the batch (``new_sources``) whose staged rows break it (module docstring); ``one_partition``:
    see ``RunGate``."""
    _register_staged(spark, fs, staged, one_partition)
    try:
        names = [table.target.name for table in staged]
        judged = {table: rules for table, rules in rulesets.items() if table in names}
        engine = SparkEngine(spark)
        with _broadcasts_off(spark, one_partition):
            results = _whole_table_row_counts(fs, staged, evaluate_batched(engine, judged, clock))
            return results, trace_failed_rules(engine, results, names, clock, new_sources)
    finally:
        for name in {table.target.name for table in staged}:
            spark.catalog.dropTempView(name)


def annotate(results: list[RuleResult], rows: RowVerdict, land_anyway: bool) -> list[RuleResult]:
    """The results as recorded: a rule that quarantined objects says how many (only when the run lands: a
    run the gate stops quarantines nothing); a failed ERROR rule of a run that landed anyway says so."""
    lands = land_anyway or not any(result.gates for result in results)
    noted = []
    for result in results:
        notes = [result.message] if result.message else []
        if lands and rows.counts.get(result.rule):
            notes.append(f"quarantined {rows.counts[result.rule]} raw object(s) as {QUALITY}")
        if land_anyway and result.gates:
            notes.append(LANDED_ANYWAY)
        noted.append(RuleResult(result.rule, result.passed, result.observed, "; ".join(notes)))
    return noted


def record_gate_results(
    spark: SparkSession,
    fs: HadoopFileSystem,
    curated_path: str,
    scratch: str,
    results: list[RuleResult],
    run_id: str,
    evaluated_at: datetime,
) -> str:
    """Append the evaluation to ``data_quality_results``: one Parquet file, written under ``scratch`` and moved
    in under its final name (a reader never sees half a file). Returns the file's URI."""
    columns = [f for f in RESULTS_SCHEMA.fields if f.name != RESULTS_PARTITION_KEY]
    rows = result_rows(results, run_id, evaluated_at, EVALUATED_BY)
    driver_rows(spark, rows, StructType(columns)).coalesce(1).write.mode("overwrite").parquet(scratch)
    (written,) = fs.list_files(scratch, ".parquet")
    day = evaluated_at.strftime("%Y-%m-%d")
    target = f"{curated_path}/{RESULTS_TABLE}/{RESULTS_PARTITION_KEY}={day}/part-{run_id}.parquet"
    fs.rename(written.uri, target)
    fs.delete(scratch, recursive=True)
    return target


@dataclass
class RunGate:
    """The gate of one run: judge the staged partitions, quarantine the objects whose rows break a row-level
    rule, then record the verdict and stop the run on a failed ERROR rule (module docstring).

    Attributes:
        rulesets: the rules, table -> rules (none: the gate passes everything and records nothing).
        clock: the run's clock: ``now()`` of the rules and ``evaluated_at`` of the results.
        land_anyway: land the run despite failed ERROR rules (recorded in the results).
        one_partition: judge each staged table in one partition, with no join broadcast (a batch of at most
            128 MB of gzip, or of text on Glue: ``batch_tuning.gate_in_one_partition``). Every table then reports
            Spark's single partition, which every grouping and join of the rules already satisfies: Spark
            plans no shuffle and no broadcast, and the statement's 18 jobs of 43 stages become 8 jobs of one
            stage each (docs/performance.md, "The gate in one partition"). The same SQL over the same rows:
            only how Spark cuts the work changes. A larger batch, or one of unknown size, keeps Spark's own
            plans.
        rows: every object quarantined as ``quality`` so far, and per rule how many.
    """

    rulesets: dict[str, list[Rule]]
    clock: datetime
    land_anyway: bool = False
    one_partition: bool = False
    rows: RowVerdict = field(default_factory=lambda: RowVerdict([]))
    judged: list[RuleResult] = field(default_factory=list)  # the last judgement, which settle records
    seconds: float = 0.0  # wall time spent judging and recording
    observer: RowObserver = field(init=False)

    def __post_init__(self) -> None:
        self.observer = RowObserver(self.rulesets, self.clock)

    def observing(self, build_tables: TableBuilder) -> TableBuilder:
        """``build_tables`` with every new row observed against the row rules while it is staged
        (:mod:`spotify_etl.transform.row_rules`)."""
        return self.observer.observing(build_tables)

    def judge(self, writer: PartitionWriter, staged: list[StagedTable], new_sources: set[str]) -> RowVerdict:
        """The objects among ``new_sources`` (the batch's objects still staged) to quarantine, which the
        caller stages the batch again without: those whose new rows broke a row rule while they were staged,
        else those whose staged rows break a failed row-level rule when every rule is judged on the staged
        partitions. Empty: the judgement stands, and :meth:`settle` records it."""
        self.judged = []
        if not self.rulesets or not staged:
            return RowVerdict([])
        started = time.perf_counter()
        verdict = row_verdict(self.observer.broken(), new_sources)
        if not verdict.rejected:
            self.judged, broken = judge_staged(
                writer.spark, writer.fs, staged, self.rulesets, self.clock, new_sources, self.one_partition
            )
            verdict = row_verdict(broken, new_sources)
        if verdict.rejected:
            counted = Counter(self.rows.counts) + Counter(verdict.counts)
            self.rows = RowVerdict(self.rows.rejected + verdict.rejected, dict(counted))
        self.seconds += time.perf_counter() - started
        return verdict

    def settle(self, writer: PartitionWriter, curated_path: str) -> list[RuleResult]:
        """Record the last judgement and stop the run on a failed ERROR rule.

        Raises:
            QualityGateFailed: an ERROR rule failed and the run does not land anyway; the staging is discarded.
        """
        if not self.judged:
            return []
        started = time.perf_counter()
        results = annotate(self.judged, self.rows, self.land_anyway)
        scratch = f"{writer.run_staging}/{RESULTS_TABLE}"
        record_gate_results(
            writer.spark, writer.fs, curated_path, scratch, results, writer.run_id, self.clock
        )
        self.seconds += time.perf_counter() - started
        failures = [result for result in results if result.gates]
        if failures and not self.land_anyway:
            writer.discard()
            raise QualityGateFailed(results)
        return results


def counts(results: list[RuleResult]) -> dict[str, int]:
    """The run summary's and the metrics' figures of one evaluation."""
    failed = [result for result in results if not result.passed]
    return {
        "rules": len(results),
        "passed": len(results) - len(failed),
        "error_failed": sum(1 for result in failed if result.rule.severity == "ERROR"),
        "warn_failed": sum(1 for result in failed if result.rule.severity != "ERROR"),
    }
