"""Rows the driver holds become the same DataFrame as Spark's own ``createDataFrame`` makes, without Python on
the executors, and a row that does not fit the schema is refused, never written as NULL."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from chispa import assert_df_equality
from pyspark.sql import SparkSession
from pyspark.sql.types import (
    BooleanType,
    DateType,
    DoubleType,
    LongType,
    StringType,
    StructField,
    StructType,
    TimestampType,
)

from spotify_etl.transform import driver_rows as module
from spotify_etl.transform.driver_rows import driver_rows

SCHEMA = StructType(
    [
        StructField("key", StringType(), False),
        StructField("text", StringType(), True),
        StructField("observed", DoubleType(), True),
        StructField("count", LongType(), True),
        StructField("flag", BooleanType(), True),
        StructField("day", DateType(), True),
        StructField("at", TimestampType(), False),
    ]
)
INDIA = timezone(timedelta(hours=5, minutes=30))
ROWS = [
    (
        "a",
        "quote \" and ' and \\ and\nnewline",
        1.5,
        2**62,
        True,
        date(2026, 12, 5),
        datetime(2026, 12, 5, 3, 4, 5, 123456, UTC),
    ),
    ("b", "é 😀 \u0000", float("nan"), -1, False, date(1200, 1, 1), datetime(1200, 1, 1, tzinfo=UTC)),
    ("c", None, float("inf"), None, None, None, datetime(2026, 12, 5, 8, 34, 5, 1, INDIA)),
    ("d", "", float("-inf"), 0, None, date(9999, 12, 31), datetime(50, 6, 1, 12, tzinfo=UTC)),
    ("e", "x", None, None, None, None, datetime(2026, 1, 1, tzinfo=UTC)),
]


def _plan(df) -> str:
    return df._jdf.queryExecution().executedPlan().toString()


@pytest.mark.parametrize("literal_rows_max", [module.MAX_LITERAL_ROWS, 2], ids=["in-plan", "many-rows"])
def test_the_rows_are_what_spark_makes_of_them_nullability_included(
    spark: SparkSession, monkeypatch: pytest.MonkeyPatch, literal_rows_max: int
) -> None:
    monkeypatch.setattr(module, "MAX_LITERAL_ROWS", literal_rows_max)

    built = driver_rows(spark, ROWS, SCHEMA)

    assert_df_equality(
        built, spark.createDataFrame(ROWS, SCHEMA), ignore_row_order=True, allow_nan_equality=True
    )
    # in the plan: no RDD of pickled Python rows, so no Python worker reads them
    assert ("ExistingRDD" in _plan(built)) is (literal_rows_max < len(ROWS))


def test_no_rows_is_an_empty_dataframe_of_the_schema(spark: SparkSession) -> None:
    built = driver_rows(spark, [], SCHEMA)

    assert_df_equality(built, spark.createDataFrame([], SCHEMA))
    assert "ExistingRDD" not in _plan(built)


@pytest.mark.parametrize(
    ("row", "refusal"),
    [
        ((None, "x", None, None, None, None, datetime(2026, 1, 1, tzinfo=UTC)), "column key is not nullable"),
        (("a", "x", None, None, None, None, datetime(2026, 1, 1)), "a datetime without a time zone"),
        (("a", "x"), "a row of 2 values for the 7 columns key, text"),
        (
            ("a", b"bytes", None, None, None, None, datetime(2026, 1, 1, tzinfo=UTC)),
            "no JSON form for a bytes",
        ),
    ],
)
def test_a_row_the_schema_cannot_hold_is_refused_before_spark_runs(spark: SparkSession, row, refusal) -> None:
    with pytest.raises((ValueError, TypeError), match=refusal):
        driver_rows(spark, [ROWS[0], row], SCHEMA)


def test_a_value_spark_cannot_read_as_its_type_fails_the_query_instead_of_becoming_null(
    spark: SparkSession,
) -> None:
    schema = StructType([StructField("count", LongType(), True)])

    with pytest.raises(Exception, match=r"(?i)malformed record"):
        driver_rows(spark, [("twelve",)], schema).collect()
