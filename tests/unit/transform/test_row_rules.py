"""Row rules observed on the new rows while they are written (real Spark, real Parquet)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pyspark.sql import DataFrame, SparkSession

from spotify_etl.quality.dqdl import parse_ruleset
from spotify_etl.transform import row_rules
from spotify_etl.transform.row_rules import RowObserver

CLOCK = datetime(2026, 11, 21, 3, 0, tzinfo=UTC)
RULES = parse_ruleset(
    'DefaultLabels = ["severity"="ERROR"]\nRules = [\n'
    ' ColumnValues "duration_ms" >= 0 where "duration_ms IS NOT NULL",\n'
    ' IsComplete "track_name",\n'
    ' ColumnValues "duration_ms" >= 0 labels=["severity"="WARN"],\n'
    ' IsPrimaryKey "track_id"\n]',
    "tracks",
)


def _rows(spark: SparkSession) -> DataFrame:
    return spark.createDataFrame(
        [
            ("t1", "ok", 100, "file:///raw/good.json.gz"),
            ("t2", "negative", -5, "file:///raw/bad.json.gz"),
            ("t3", None, None, "file:///raw/bad.json.gz"),  # NULL duration: not selected by the where
            ("t4", None, 7, "file:///raw/nameless.json.gz"),
        ],
        "track_id string, track_name string, duration_ms int, source_file string",
    )


EXPECTED = {
    RULES[0]: {"file:///raw/bad.json.gz"},
    RULES[1]: {"file:///raw/bad.json.gz", "file:///raw/nameless.json.gz"},
}


def test_the_rows_written_name_the_objects_that_break_each_error_row_rule(
    spark: SparkSession, tmp_path: Path
) -> None:
    observer = RowObserver({"tracks": RULES}, CLOCK)
    build = observer.observing(lambda df: {"tracks": _rows(spark)})

    build(spark.range(1))["tracks"].write.parquet(str(tmp_path / "tracks"))

    assert observer.broken() == EXPECTED


def test_the_metrics_of_a_written_table_are_read_as_delivered_not_queried_again(
    spark: SparkSession, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The probe of this Spark version (``future`` on 4, the ``metrics`` field on 3.5) sees the delivery: a
    probe that never did would make every run wait ``_WAIT_SECONDS`` and query each table again."""

    def no_query(watch: object) -> dict[str, str | None]:
        raise AssertionError("the observation was delivered; no query should run")

    monkeypatch.setattr(row_rules, "_queried", no_query)
    observer = RowObserver({"tracks": RULES}, CLOCK)
    build = observer.observing(lambda df: {"tracks": _rows(spark)})

    build(spark.range(1))["tracks"].write.parquet(str(tmp_path / "tracks"))

    assert observer.broken() == EXPECTED


def test_an_observation_spark_never_delivers_is_answered_by_a_query_and_leaves_no_thread_waiting(
    spark: SparkSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(row_rules, "_WAIT_SECONDS", 0.5)
    observer = RowObserver({"tracks": RULES}, CLOCK)
    observer.observing(lambda df: {"tracks": _rows(spark)})(spark.range(1))  # built, never written
    threads_before = set(threading.enumerate())

    assert observer.broken() == EXPECTED
    assert set(threading.enumerate()) - threads_before == set()


def test_only_the_last_staging_counts_and_no_rules_means_no_observation(spark: SparkSession) -> None:
    observer = RowObserver({"tracks": RULES}, CLOCK)
    build = observer.observing(lambda df: {"tracks": _rows(spark).where("track_id = 't1'")})
    build(spark.range(1))["tracks"].collect()
    build(spark.range(1))["tracks"].collect()  # a second staging: the first one's observation is dropped

    assert observer.broken() == {}
    plain = RowObserver({"tracks": [RULES[2], RULES[3]]}, CLOCK)  # a WARN rule and a key: no row rule
    builder = lambda df: {"tracks": df}  # noqa: E731
    assert plain.observing(builder) is builder
