"""Rows the driver holds become the same DataFrame as Spark's own ``createDataFrame`` makes, without Python on
the executors, and a row that does not fit the schema is refused, never written as NULL."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from chispa import assert_df_equality
from pyspark.sql import SparkSession
from pyspark.sql.types import (
    ArrayType,
    BooleanType,
    DateType,
    DoubleType,
    IntegerType,
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


def _row(**values: object) -> tuple[object, ...]:
    """ROWS[0] with some columns changed."""
    return tuple(values.get(name, value) for name, value in zip(SCHEMA.fieldNames(), ROWS[0], strict=True))


@pytest.mark.parametrize("literal_rows_max", [module.MAX_LITERAL_ROWS, 0], ids=["in-plan", "many-rows"])
@pytest.mark.parametrize(
    ("row", "error", "refusal"),
    [
        (_row(key=None), ValueError, "column key is not nullable, but a row holds None there"),
        (
            _row(at=datetime(2026, 1, 1)),
            ValueError,
            "column at: a datetime without a time zone has no instant",
        ),
        (("a", "x"), ValueError, "a row of 2 values for the 7 columns key, text"),
        (_row(text=12), TypeError, r"column text \(string\) cannot hold the int 12"),
        (_row(count=True), TypeError, r"column count \(bigint\) cannot hold the bool True"),
        (_row(observed=1), TypeError, r"column observed \(double\) cannot hold the int 1"),
        (
            _row(day=datetime(2026, 1, 1, tzinfo=UTC)),
            TypeError,
            r"column day \(date\) cannot hold the datetime",
        ),
        (_row(at="2026-01-01"), TypeError, r"column at \(timestamp\) cannot hold the str"),
        (_row(count=2**63), ValueError, r"column count \(bigint\) cannot hold 9223372036854775808"),
    ],
)
def test_a_value_its_column_cannot_hold_is_refused_before_spark_runs_whatever_the_row_count(
    spark: SparkSession, monkeypatch: pytest.MonkeyPatch, literal_rows_max: int, row, error, refusal
) -> None:
    monkeypatch.setattr(module, "MAX_LITERAL_ROWS", literal_rows_max)

    with pytest.raises(error, match=refusal):
        driver_rows(spark, [ROWS[1], row], SCHEMA)


def test_an_int_column_refuses_what_does_not_fit_32_bits_and_other_types_are_not_taken(
    spark: SparkSession,
) -> None:
    ints = StructType([StructField("n", IntegerType(), True)])
    arrays = StructType([StructField("ids", ArrayType(StringType()), True)])

    assert [r.n for r in driver_rows(spark, [(2**31 - 1,), (-(2**31),)], ints).collect()] == [
        2**31 - 1,
        -(2**31),
    ]
    with pytest.raises(ValueError, match=r"column n \(int\) cannot hold 2147483648"):
        driver_rows(spark, [(2**31,)], ints)
    with pytest.raises(TypeError, match="column ids: rows of type array<string> are not supported"):
        driver_rows(spark, [(["a"],)], arrays)


def test_a_name_that_is_not_utf8_keeps_its_replacement_character_as_sparks_readers_give_it(
    spark: SparkSession,
) -> None:
    name = b"caf\xe9.json.gz".decode("utf-8", "surrogateescape")  # as os.walk lists a Latin-1 file name
    schema = StructType([StructField("source_file", StringType(), True)])

    assert [r.source_file for r in driver_rows(spark, [(name,)], schema).collect()] == ["caf\ufffd.json.gz"]
