"""The batch handed on over its cache: the same rows, a plan that is the cache alone, and the cache released."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from chispa import assert_df_equality
from pyspark import StorageLevel
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from spotify_etl.runtime.local.transform import config_for_lake, run_local_transform
from spotify_etl.transform import cached as cached_module
from spotify_etl.transform import job, registry
from spotify_etl.transform.cached import IN_MEMORY_RELATION, cached
from tests import builders as b


def _leaves(df: DataFrame) -> list[str]:
    """The class of each leaf of ``df``'s analyzed plan, in order."""
    leaves = df._jdf.queryExecution().analyzed().collectLeaves()
    return [leaves.apply(i).getClass().getName() for i in range(leaves.size())]


def _checked_like(spark: SparkSession) -> DataFrame:
    """A small batch with a plan of some size: a parse and a few expressions over rows of text."""
    texts = spark.createDataFrame(
        [("a", '{"n": 1, "s": "x"}'), ("b", '{"n": 2}'), ("c", None)], "source_file string, value string"
    )
    parsed = texts.select("source_file", F.from_json("value", "n bigint, s string").alias("json"))
    return parsed.select(
        "source_file",
        (F.col("json")["n"] * 2).alias("twice"),
        F.coalesce(F.col("json")["s"], F.lit("none")).alias("s"),
    )


def test_the_batch_is_handed_on_as_its_cache_and_released_after(spark: SparkSession) -> None:
    batch_df = _checked_like(spark)
    expected = spark.createDataFrame(batch_df.collect(), batch_df.schema)

    with cached(batch_df, StorageLevel.MEMORY_AND_DISK) as over_cache_df:
        assert _leaves(over_cache_df) == [IN_MEMORY_RELATION]  # the plan is the cache, nothing under it
        derived_df = over_cache_df.where("twice > 2").select("source_file", "s")
        assert _leaves(derived_df) == [IN_MEMORY_RELATION]
        assert batch_df.storageLevel == StorageLevel.MEMORY_AND_DISK
        assert_df_equality(over_cache_df, expected, ignore_row_order=True)
        assert_df_equality(
            derived_df,
            spark.createDataFrame([("b", "none")], "source_file string, s string"),
            ignore_nullable=True,
        )

    assert batch_df.storageLevel == StorageLevel.NONE  # Spark's cache holds it no more


def test_the_cache_is_released_when_the_block_fails(spark: SparkSession) -> None:
    batch_df = _checked_like(spark)

    with pytest.raises(ZeroDivisionError), cached(batch_df, StorageLevel.MEMORY_AND_DISK):
        _ = 1 / 0

    assert batch_df.storageLevel == StorageLevel.NONE  # Spark's cache holds it no more


def test_a_spark_without_the_call_gets_the_batch_as_it_is(
    spark: SparkSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No ``Dataset.ofRows`` where it is looked for: the same DataFrame, still persisted for the block."""
    monkeypatch.setattr(cached_module, "DATASET_CLASSES", ("org.apache.spark.sql.NoSuchDataset",))
    batch_df = _checked_like(spark)

    with cached(batch_df, StorageLevel.MEMORY_AND_DISK) as handed_df:
        assert handed_df is batch_df and batch_df.storageLevel == StorageLevel.MEMORY_AND_DISK

    assert batch_df.storageLevel == StorageLevel.NONE


def test_a_run_builds_its_tables_on_the_cache_not_on_the_checks_plan(
    spark: SparkSession, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the six tables are built on (the valid observations) reads the cache alone: the parse and the
    validation are not analysed again with every table, merge and write."""
    built_on: list[list[str]] = []
    original = registry.build_tables

    def recording(observations_df: DataFrame) -> dict[str, Any]:
        built_on.append(_leaves(observations_df))
        return original(observations_df)

    monkeypatch.setattr(registry, "build_tables", recording)
    persisted: list[DataFrame] = []

    @contextmanager
    def watched(df: DataFrame, level: StorageLevel) -> Iterator[DataFrame]:
        persisted.append(df)
        with cached(df, level) as over_cache_df:
            yield over_cache_df

    monkeypatch.setattr(job, "cached", watched)
    b.land(
        tmp_path / "raw", b.envelope(playlist=b.playlist(id="p1"), items=[b.playlist_item(b.track(id="t1"))])
    )
    config, bookmarks = config_for_lake(tmp_path)

    summary = run_local_transform(config, spark, bookmarks_root=bookmarks)

    assert summary.objects_valid == 1
    assert built_on == [[IN_MEMORY_RELATION]]
    assert [df.storageLevel for df in persisted] == [StorageLevel.NONE]  # the run's one cache, released
