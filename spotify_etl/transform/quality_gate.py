"""The data quality gate inside the transform: the rules of ``quality/*.dqdl``, judged before the swap.

The rules are the ones ``spotify-etl quality`` judges the lake by, through the same translator
(:mod:`spotify_etl.quality.translate`), on Spark, the same code on Glue and locally. What a failure means
depends on who can break the rule (docs/transform.md, "The gate"):

- **Row-level ERROR rules** (``IsComplete``, ``ColumnValues`` without a threshold, and
  ``ReferentialIntegrity`` within the batch) are judged on the run's new rows, the tables built from the
  batch before staging. A row that breaks one names its raw object (``source_file``): that object is
  quarantined with reason ``quality`` naming the rule and its ``file:line``, and its rows are removed from
  every table before staging; the rest of the batch lands. One Spark job for all six tables.
- **Every rule** (table-level ones: keys after the merge, ``RowCount``, references, ``CustomSql``,
  thresholds; and the WARN rules) is then judged on the staged partitions, before the swap. The references
  of ``quality/`` all join on ``snapshot_date``, so the staged partitions of the referenced table (every
  table is staged over the same days) are all a reference needs. ``RowCount`` counts the whole table: when
  the staged rows alone fail it, the untouched partitions' rows are added from their Parquet footers. A
  failed ERROR rule stops the run (:class:`QualityGateFailed`) unless the run was told to land anyway.

Every evaluation appends its results to ``data_quality_results`` (``evaluated_by`` = ``transform``), written
through Hadoop's FileSystem (``s3://`` on Glue), as a Parquet file moved in under its final name.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from pyspark import StorageLevel
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import StructType

from spotify_etl.quality.dqdl import Rule
from spotify_etl.quality.evaluate import RuleResult, SparkEngine, evaluate_batched, load_rulesets
from spotify_etl.quality.results import RESULTS_PARTITION_KEY, RESULTS_SCHEMA, RESULTS_TABLE, result_rows
from spotify_etl.quality.translate import reference_columns, row_predicate, verdict
from spotify_etl.transform.isolate import TableBuilder
from spotify_etl.transform.raw_objects import Rejection
from spotify_etl.transform.registry import CURATED_TABLES, TABLE_SCHEMAS
from spotify_etl.transform.storage import HadoopFileSystem
from spotify_etl.transform.writer import PartitionWriter, StagedTable

QUALITY = "quality"  # the quarantine reason
EVALUATED_BY = "transform"
LANDED_ANYWAY = "landed despite ERROR failures (land_despite_quality_errors)"
_ROW_LEVEL_TYPES = ("IsComplete", "ColumnValues")


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


def is_row_level(rule: Rule) -> bool:
    """An ERROR rule that rows of one raw object can break on their own (judged on the new rows)."""
    if rule.severity != "ERROR":
        return False
    if rule.rule_type == "ReferentialIntegrity":
        return True
    return rule.rule_type in _ROW_LEVEL_TYPES and rule.threshold is None


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


def _broken_rows(table_df: DataFrame, rules: list[tuple[int, Rule]], clock: datetime) -> DataFrame:
    """``source_file, rule_id`` of the rows of ``table_df`` that break its row-level compliance rules: one pass
    over the table for all of them (each row's broken rules as an array, empty for almost every row)."""
    checks = []
    for rule_id, rule in rules:
        selected = f"({rule.where})" if rule.where else "TRUE"
        broken = f"coalesce({selected}, FALSE) AND NOT coalesce(({row_predicate(rule, clock)}), FALSE)"
        checks.append(F.when(F.expr(broken), F.lit(rule_id)))
    ids = F.filter(F.array(*checks), lambda rule_id: rule_id.isNotNull())
    return (
        table_df.select("source_file", ids.alias("ids"))
        .where(F.size("ids") > 0)
        .select("source_file", F.explode("ids").alias("rule_id"))
    )


def _dangling_rows(tables: dict[str, DataFrame], rule: Rule, rule_id: int) -> DataFrame:
    """``source_file, rule_id`` of the new rows whose reference is not among the batch's new rows."""
    primary, ref_table, refs = reference_columns(rule)
    keys = [f"k{i}" for i in range(len(primary))]
    rows_df = tables[rule.table].select(
        "source_file", *[F.col(c).alias(k) for c, k in zip(primary, keys, strict=True)]
    )
    ref_df = (
        tables[ref_table].select(*[F.col(c).alias(k) for c, k in zip(refs, keys, strict=True)]).distinct()
    )
    return rows_df.join(ref_df, keys, "left_anti").select("source_file", F.lit(rule_id).alias("rule_id"))


def judge_new_rows(
    tables: dict[str, DataFrame], rulesets: dict[str, list[Rule]], clock: datetime
) -> RowVerdict:
    """The raw objects whose new rows break a row-level ERROR rule: one Spark job for every table."""
    rules = [r for table in tables for r in rulesets.get(table, []) if is_row_level(r)]
    parts = []
    for table, table_df in tables.items():
        compliance = [
            (i, r) for i, r in enumerate(rules) if r.table == table and r.rule_type in _ROW_LEVEL_TYPES
        ]
        if compliance:
            parts.append(_broken_rows(table_df, compliance, clock))
    for rule_id, rule in enumerate(rules):
        if rule.rule_type == "ReferentialIntegrity" and reference_columns(rule)[1] in tables:
            parts.append(_dangling_rows(tables, rule, rule_id))
    if not parts:
        return RowVerdict([])
    broken_df = parts[0]
    for part in parts[1:]:
        broken_df = broken_df.unionByName(part)
    found = broken_df.groupBy("source_file").agg(F.array_sort(F.collect_set("rule_id")).alias("ids"))
    rows = sorted(found.collect(), key=lambda row: row.source_file)
    counts = Counter(rules[i] for row in rows for i in row.ids)
    return RowVerdict(
        [(row.source_file, QUALITY, quality_detail([rules[i] for i in row.ids])) for row in rows],
        dict(counts),
    )


def quality_detail(broken: list[Rule]) -> str:
    """The quarantine detail: the first rule the object's rows break, where it is written, and how many more."""
    first = broken[0]
    more = f"; and {len(broken) - 1} more rule(s)" if len(broken) > 1 else ""
    return f"rows of {first.table} break the ERROR rule {rule_location(first)}: {first.text}{more}"


def without_objects(rows_df: DataFrame, sources: list[str]) -> DataFrame:
    """``rows_df`` (observations, or a table: both have ``source_file``) without the rows of ``sources``."""
    if not sources:
        return rows_df
    keys_df = rows_df.sparkSession.createDataFrame([(uri,) for uri in sources], "source_file string")
    return rows_df.join(F.broadcast(keys_df), "source_file", "left_anti")


def _register_staged(spark: SparkSession, fs: HadoopFileSystem, staged: list[StagedTable]) -> None:
    """A temporary view per table over its staged partitions (an empty one when the stage wrote none)."""
    for table in staged:
        schema = TABLE_SCHEMAS[table.target.name]
        if fs.list_dirs(table.staged_root):
            df = spark.read.schema(schema).option("basePath", table.staged_root).parquet(table.staged_root)
        else:
            df = spark.createDataFrame([], schema)
        df.createOrReplaceTempView(table.target.name)


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
) -> list[RuleResult]:
    """Every rule of the staged tables, on their staged partitions (module docstring)."""
    _register_staged(spark, fs, staged)
    try:
        names = {table.target.name for table in staged}
        judged = {table: rules for table, rules in rulesets.items() if table in names}
        return _whole_table_row_counts(fs, staged, evaluate_batched(SparkEngine(spark), judged, clock))
    finally:
        for name in {table.target.name for table in staged}:
            spark.catalog.dropTempView(name)


def annotate(results: list[RuleResult], rows: RowVerdict, landed_anyway: bool) -> list[RuleResult]:
    """The results as recorded: a rule that quarantined objects says how many; a failed ERROR rule of a run
    that landed anyway says so."""
    noted = []
    for result in results:
        notes = [result.message] if result.message else []
        if rows.counts.get(result.rule):
            notes.append(f"quarantined {rows.counts[result.rule]} raw object(s) as {QUALITY} before staging")
        if landed_anyway and result.gates:
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
    spark.createDataFrame(rows, StructType(columns)).coalesce(1).write.mode("overwrite").parquet(scratch)
    (written,) = fs.list_files(scratch, ".parquet")
    day = evaluated_at.strftime("%Y-%m-%d")
    target = f"{curated_path}/{RESULTS_TABLE}/{RESULTS_PARTITION_KEY}={day}/part-{run_id}.parquet"
    fs.rename(written.uri, target)
    fs.delete(scratch, recursive=True)
    return target


@dataclass
class RunGate:
    """The gate of one run: screen the new rows, then judge the staged partitions (module docstring).

    Attributes:
        rulesets: the rules, table -> rules (none: the gate passes everything and records nothing).
        clock: the run's clock: ``now()`` of the rules and ``evaluated_at`` of the results.
        land_anyway: land the run despite failed ERROR rules (recorded in the results).
        rows: the verdict of :meth:`screen`.
    """

    rulesets: dict[str, list[Rule]]
    clock: datetime
    land_anyway: bool = False
    rows: RowVerdict = field(default_factory=lambda: RowVerdict([]))
    seconds: float = 0.0  # wall time spent in screen and judge
    _cached: list[DataFrame] = field(default_factory=list)

    def screen(
        self, observations_df: DataFrame, build_tables: TableBuilder
    ) -> tuple[DataFrame, TableBuilder]:
        """The observations without the objects whose rows break a row-level ERROR rule (kept in ``rows``), and
        the builder to stage them with.

        The tables built for the screen are persisted and are what the builder returns for those observations
        (less the quarantined objects' rows: every table has ``source_file``), so the stage does not build them
        again; any other observations (the write isolation's bisection) are built afresh. :meth:`release`
        frees them.
        """
        if not self.rulesets:
            return observations_df, build_tables
        started = time.perf_counter()
        built = build_tables(observations_df)
        self._cached = [df.persist(StorageLevel.MEMORY_AND_DISK) for df in built.values()]
        self.rows = judge_new_rows(built, self.rulesets, self.clock)
        kept_df = without_objects(observations_df, self.rows.sources)
        kept = {name: without_objects(df, self.rows.sources) for name, df in built.items()}
        self.seconds += time.perf_counter() - started

        def reuse(obs_df: DataFrame) -> dict[str, DataFrame]:
            return kept if obs_df is kept_df else build_tables(obs_df)

        return kept_df, reuse

    def release(self) -> None:
        """Free the tables :meth:`screen` persisted."""
        for df in self._cached:
            df.unpersist()
        self._cached = []

    def judge(
        self, writer: PartitionWriter, staged: list[StagedTable], curated_path: str
    ) -> list[RuleResult]:
        """Judge and record every rule on the staged partitions.

        Raises:
            QualityGateFailed: an ERROR rule failed and the run does not land anyway; the staging is discarded.
        """
        if not self.rulesets or not staged:
            return []
        started = time.perf_counter()
        judged = judge_staged(writer.spark, writer.fs, staged, self.rulesets, self.clock)
        results = annotate(judged, self.rows, self.land_anyway)
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
