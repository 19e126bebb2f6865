"""A run's Spark settings follow its batch's raw bytes: whole-stage code generation, adaptive execution and
constraint propagation off and projections interpreted for a small batch, the session's own settings kept for a large one, and shuffles
sized to the data."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from spotify_etl.transform.batch_tuning import (
    ADAPTIVE_EXECUTION,
    CODEGEN_FACTORY_MODE,
    CONSTRAINT_PROPAGATION,
    ONE_PARTITION_GATE_BYTES,
    SHUFFLE_PARTITIONS,
    SMALL_BATCH_BYTES,
    SMALL_BATCH_SETTINGS,
    TUNED_SETTINGS,
    WHOLE_STAGE_CODEGEN,
    choose_shuffle_partitions,
    gate_in_one_partition,
    is_small_batch,
    judged_bytes,
    settings_kept,
    tune_for_batch,
)

# Spark's own default of each small-batch setting: what a large batch runs with unless the session set another.
SPARK_DEFAULTS = {
    WHOLE_STAGE_CODEGEN: "true",
    ADAPTIVE_EXECUTION: "true",
    CODEGEN_FACTORY_MODE: "FALLBACK",
    CONSTRAINT_PROPAGATION: "true",
}


def _values(spark: SparkSession) -> dict[str, str | None]:
    return {key: spark.conf.get(key, None) for key in TUNED_SETTINGS}


@pytest.fixture
def restored(spark: SparkSession) -> Iterator[SparkSession]:
    with settings_kept(spark):  # settings_kept has its own test below
        yield spark


def test_a_small_batch_is_at_most_the_threshold_and_an_unknown_size_is_large() -> None:
    assert [is_small_batch(n) for n in (0, SMALL_BATCH_BYTES, SMALL_BATCH_BYTES + 1, None)] == [
        True,
        True,
        False,
        False,
    ]


def test_the_gate_is_judged_in_one_partition_up_to_128_mb_and_never_for_an_unknown_size() -> None:
    limit = ONE_PARTITION_GATE_BYTES
    assert limit == 128 * 1024 * 1024 > SMALL_BATCH_BYTES
    assert [gate_in_one_partition(n) for n in (0, SMALL_BATCH_BYTES + 1, limit, limit + 1, None)] == [
        True,
        True,
        True,
        False,
        False,
    ]


def test_the_gzip_bytes_are_judged_when_known_else_the_text_bytes() -> None:
    assert [
        judged_bytes(*sizes) for sizes in ((10, 500), (10, None), (None, 500), (None, None), (0, 500))
    ] == [
        10,
        10,
        500,
        None,
        0,
    ]


def test_a_batch_whose_text_is_over_the_threshold_runs_with_the_sessions_settings(
    restored: SparkSession,
) -> None:
    tune_for_batch(restored, None, None, text_bytes=SMALL_BATCH_BYTES)
    small = _values(restored)
    tune_for_batch(restored, None, None, text_bytes=SMALL_BATCH_BYTES + 1)
    large = _values(restored)

    assert {key: small[key] for key in SMALL_BATCH_SETTINGS} == SMALL_BATCH_SETTINGS
    assert {key: large[key] for key in SMALL_BATCH_SETTINGS} == {
        key: restored.sparkContext.getConf().get(key) for key in SMALL_BATCH_SETTINGS
    }
    cores = restored.sparkContext.defaultParallelism
    # a small batch's width is a task per core; a large batch's comes from its gzip bytes, here unknown
    assert (small[SHUFFLE_PARTITIONS], large[SHUFFLE_PARTITIONS]) == (str(cores), str(2 * cores))


def _started_with(spark: SparkSession, key: str) -> str:
    return str(spark.sparkContext.getConf().get(key, SPARK_DEFAULTS[key]))


def _small_then_large(
    spark: SparkSession, key: str, plan: Callable[[], str]
) -> tuple[str, tuple[str, str], tuple[str, str]]:
    """The value ``key`` had when the session started (Spark's default if none), then ``key``'s value and
    ``plan()`` under a small batch's settings, then under a large batch's."""
    configured = _started_with(spark, key)
    tune_for_batch(spark, SMALL_BATCH_BYTES, None)
    small = (str(spark.conf.get(key)), plan())
    tune_for_batch(spark, SMALL_BATCH_BYTES + 1, None)
    return configured, small, (str(spark.conf.get(key)), plan())


def test_a_small_batch_runs_without_whole_stage_codegen_and_a_large_one_gets_the_sessions_setting_back(
    restored: SparkSession,
) -> None:
    spark = restored

    def plan() -> str:
        return str(
            spark.range(10).selectExpr("id * 2 AS twice")._jdf.queryExecution().executedPlan().toString()
        )

    configured, (small, plan_small), (large, plan_large) = _small_then_large(spark, WHOLE_STAGE_CODEGEN, plan)

    assert (small, large) == ("false", configured)
    # a whole-stage-generated operator is printed with a leading "*(n)" in the physical plan
    assert ("*(" in plan_small, "*(" in plan_large) == (False, configured == "true")


def test_a_small_batch_runs_without_adaptive_execution_and_a_large_one_gets_the_sessions_setting_back(
    restored: SparkSession,
) -> None:
    spark = restored

    def shuffling_plan() -> str:
        grouped = spark.range(10).selectExpr("id % 3 AS k").groupBy("k").count()
        return str(grouped._jdf.queryExecution().executedPlan().toString())

    configured, (small, plan_small), (large, plan_large) = _small_then_large(
        spark, ADAPTIVE_EXECUTION, shuffling_plan
    )

    assert (small, large) == ("false", configured)
    # an adaptively executed query's physical plan is rooted in an AdaptiveSparkPlan
    assert ("AdaptiveSparkPlan" in plan_small, "AdaptiveSparkPlan" in plan_large) == (
        False,
        configured == "true",
    )


def test_a_small_batch_infers_no_filter_from_constraints_and_a_large_one_gets_the_sessions_setting_back(
    restored: SparkSession,
) -> None:
    spark = restored

    def optimized_plan() -> str:
        left = spark.range(10).selectExpr("id AS a")
        right = spark.range(10).selectExpr("id AS b")
        joined = left.join(right, F.expr("a = b")).where("a > 5")
        return str(joined._jdf.queryExecution().optimizedPlan().toString())

    configured, (small, plan_small), (large, plan_large) = _small_then_large(
        spark, CONSTRAINT_PROPAGATION, optimized_plan
    )

    assert (small, large) == ("false", configured)
    # the filter "> 5" on the join's other side is inferred from the join condition and the query's own filter
    assert (plan_small.count(" > 5)"), plan_large.count(" > 5)")) == (1, 2 if configured == "true" else 1)


def _classes_compiled(spark: SparkSession) -> int:
    """How many classes Spark's code generator has compiled in this JVM (its own metric, tasks included:
    local mode runs them in the driver's JVM)."""
    metrics = spark.sparkContext._jvm.org.apache.spark.metrics.source.CodegenMetrics  # type: ignore[union-attr]
    return int(metrics.METRIC_COMPILATION_TIME().getCount())


def test_a_small_batch_compiles_no_class_and_a_large_one_gets_the_sessions_factory_mode_back(
    restored: SparkSession,
) -> None:
    """Interpreted projections and predicates for a small batch: a query never seen before (its literals make
    its generated source new, so no cached class could serve it) compiles nothing; with the large batch's
    settings the same kind of query is compiled, whole-stage code generation off too (so the factories compile
    it). (A hash aggregation's row joiner and a range shuffle's ordering are generated outside the factories
    and still compile once per distinct source.)"""
    spark = restored
    configured = _started_with(spark, CODEGEN_FACTORY_MODE)
    unseen = id(spark) % 100_000 + 7_919  # a literal no other test uses

    def new_query_compiles(factor: int) -> int:
        before = _classes_compiled(spark)
        rows = (
            spark.range(40, numPartitions=2)
            .selectExpr(f"explode(array(id, id * {factor})) AS scaled", f"concat('k', id % {factor}) AS key")
            .where(f"scaled <> -{factor}")
            .selectExpr("key", "row_number() OVER (PARTITION BY key ORDER BY scaled) AS position")
            .collect()
        )
        assert len(rows) == 80  # the query ran: every exploded row passes the filter
        return _classes_compiled(spark) - before

    tune_for_batch(spark, SMALL_BATCH_BYTES, None)
    small, compiled_small = spark.conf.get(CODEGEN_FACTORY_MODE), new_query_compiles(unseen)
    tune_for_batch(spark, SMALL_BATCH_BYTES + 1, None)
    spark.conf.set(WHOLE_STAGE_CODEGEN, "false")
    large, compiled_large = spark.conf.get(CODEGEN_FACTORY_MODE), new_query_compiles(unseen + 2)

    assert (small, large) == ("NO_CODEGEN", configured)
    assert compiled_small == 0
    assert compiled_large > 0


def test_a_large_batch_runs_with_the_values_the_session_started_with_not_a_value_set_since(
    restored: SparkSession,
) -> None:
    spark = restored
    for key in SMALL_BATCH_SETTINGS:  # what an earlier small run or a caller left behind
        spark.conf.set(key, "false" if key != CODEGEN_FACTORY_MODE else "CODEGEN_ONLY")

    tune_for_batch(spark, SMALL_BATCH_BYTES + 1, None)

    assert {key: spark.conf.get(key) for key in SMALL_BATCH_SETTINGS} == {
        key: _started_with(spark, key) for key in SPARK_DEFAULTS
    }


def test_the_sessions_values_are_back_after_a_tuned_block_even_one_that_failed(
    restored: SparkSession,
) -> None:
    spark = restored
    spark.conf.set(SHUFFLE_PARTITIONS, "7")
    spark.conf.unset(CODEGEN_FACTORY_MODE)
    before = _values(spark)

    with pytest.raises(RuntimeError, match="the run failed"), settings_kept(spark):
        tune_for_batch(spark, SMALL_BATCH_BYTES, None)
        assert _values(spark) != before
        raise RuntimeError("the run failed")

    assert _values(spark) == before
    assert before[CODEGEN_FACTORY_MODE] is None  # unset before, unset after


@pytest.mark.parametrize(
    ("raw_bytes", "configured", "expected"),
    [(0, None, 2), (None, None, 4), (64 * 1024 * 1024 + 1, None, 3), (10**12, None, 200), (0, 7, 7)],
)
def test_shuffles_are_one_task_per_32_mb_of_raw_between_the_cores_and_200_unless_configured(
    raw_bytes: int | None, configured: int | None, expected: int
) -> None:
    assert choose_shuffle_partitions(raw_bytes, configured, parallelism=2) == expected


def test_the_run_sets_the_shuffle_width_it_chose(restored: SparkSession) -> None:
    tune_for_batch(restored, 64 * 1024 * 1024 + 1, None)
    assert restored.conf.get("spark.sql.shuffle.partitions") == "3"
