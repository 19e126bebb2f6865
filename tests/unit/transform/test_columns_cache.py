"""Columns built once per JVM: one build per argument, the same Column handed back, and that Column gives
every DataFrame it is used in that DataFrame's own rows, from any thread."""

from __future__ import annotations

import pytest
from chispa import assert_df_equality
from pyspark import SparkContext
from pyspark.sql import Column, SparkSession
from pyspark.sql import functions as F

from spotify_etl.transform.columns_cache import per_jvm
from spotify_etl.transform.concurrent import run_all


def _counting_builder() -> tuple[list[int], object]:
    builds: list[int] = []

    @per_jvm
    def doubled_plus(n: int) -> Column:
        builds.append(n)
        return F.transform(F.col("xs"), lambda x: x * 2 + F.lit(n)).alias("ys")

    return builds, doubled_plus


def test_a_column_is_built_once_per_argument_and_handed_back_the_same(spark: SparkSession) -> None:
    builds, doubled_plus = _counting_builder()

    first, again, other = doubled_plus(1), doubled_plus(1), doubled_plus(5)

    assert first is again and other is not first
    assert builds == [1, 5]


def test_a_cached_column_gives_each_dataframe_its_own_rows_in_concurrent_threads(spark: SparkSession) -> None:
    _, doubled_plus = _counting_builder()
    inputs = [spark.createDataFrame([([k, k + 1],)], "xs array<int>") for k in range(6)]

    def rows_of(k: int):
        return lambda: inputs[k].select(doubled_plus(1)).collect()

    got = run_all([rows_of(k) for k in range(6)], concurrent=True)

    for k, rows in enumerate(got):
        expected = spark.createDataFrame([([2 * k + 1, 2 * k + 3],)], "ys array<int>")
        assert_df_equality(spark.createDataFrame(rows, "ys array<int>"), expected)


def test_a_new_jvm_gets_columns_of_its_own(spark: SparkSession, monkeypatch: pytest.MonkeyPatch) -> None:
    builds, doubled_plus = _counting_builder()
    before = doubled_plus(1)

    # A process whose gateway was replaced (a new JVM) must not be handed a Column of the old one.
    monkeypatch.setattr(SparkContext, "_gateway", object())
    after = doubled_plus(1)

    assert after is not before and builds == [1, 1]


def test_arguments_by_keyword_are_refused_rather_than_cached_apart(spark: SparkSession) -> None:
    _, doubled_plus = _counting_builder()

    with pytest.raises(TypeError, match="by position"):
        doubled_plus(n=1)
