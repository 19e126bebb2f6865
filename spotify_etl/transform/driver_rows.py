"""DataFrames of rows the driver holds (rejected objects, the gate's results, keys to leave out), built
without a Python worker.

``spark.createDataFrame(rows)`` ships the rows as a Python RDD: the first Spark job that reads them starts
PySpark's worker daemon (``python -m pyspark.daemon``, per executor) to unpickle them, even when there are no
rows. Nothing else in a run needs Python on the executors, so that start was the cost of one small write: about
0.9 s at the end of a one-object run, on its critical path (docs/performance.md, "Rows from the driver without
a Python worker"). Here the rows travel in the plan as one JSON text that Spark parses (``from_json``, which
fails the query on a value that does not fit the schema: ``FAILFAST``) and explodes (``inline``): the same rows,
all in the JVM. Spark folds the parse of a literal into the plan, so the rows are parsed once, in the driver.

Bound: up to ``MAX_LITERAL_ROWS`` rows go in the plan (a few hundred bytes each: the plan's text, which Spark
logs and shows, stays small); more rows go through ``createDataFrame``, where a worker's start is small beside
the batch that produced them (hundreds of rejected objects, a bisection of a large batch). Values are checked
in Python against their column's type before either (the JSON reader would coerce some: a number into a string
column), so both ways take and refuse the same rows.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, date, datetime

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import (
    ArrayType,
    BooleanType,
    DataType,
    DateType,
    DoubleType,
    IntegerType,
    LongType,
    StringType,
    StructField,
    StructType,
    TimestampType,
)

from spotify_etl.transform.conform import conform

MAX_LITERAL_ROWS = 256
_TIMESTAMP_FORMAT = "yyyy-MM-dd'T'HH:mm:ss.SSSSSSXXX"  # what _json_value writes: microseconds, UTC offset


def driver_rows(spark: SparkSession, rows: Sequence[Sequence[object]], schema: StructType) -> DataFrame:
    """``rows`` (tuples in ``schema``'s column order) as a DataFrame of exactly ``schema``, nullability included;
    in the plan up to ``MAX_LITERAL_ROWS`` rows, else by ``createDataFrame``. Either way, each value is checked
    against its column's type first (``_ACCEPTED``), so what is refused does not depend on how many rows there are.

    Raises:
        ValueError: a row's length differs from the schema's, ``None`` in a non-nullable column, an integer out
            of its column's range, or a ``datetime`` without a time zone (a naive one has no instant).
        TypeError: a value its column's type does not take, or a column of a type not in ``_ACCEPTED``.
    """
    names = schema.fieldNames()
    records = []
    for row in rows:
        if len(row) != len(names):
            raise ValueError(f"a row of {len(row)} values for the {len(names)} columns {', '.join(names)}")
        records.append({f.name: _json_value(f, value) for f, value in zip(schema.fields, row, strict=True)})
    if len(records) > MAX_LITERAL_ROWS:
        return spark.createDataFrame(rows, schema)
    options = {"mode": "FAILFAST", "timestampFormat": _TIMESTAMP_FORMAT}
    parsed = F.from_json(F.lit(json.dumps(records, allow_nan=True)), ArrayType(schema), options)
    # One row to explode the rows from: a SELECT of no table, not spark.range, whose first call in a JVM costs
    # about 0.8 s (its typed Dataset's encoder starts Scala reflection).
    return conform(spark.sql("SELECT 1").select(F.inline(parsed)), schema)


# What each column type takes, as createDataFrame's own check does (a bool is no number, a datetime no date).
_ACCEPTED: dict[type[DataType], tuple[type, ...]] = {
    StringType: (str,),
    LongType: (int,),
    IntegerType: (int,),
    DoubleType: (float,),
    BooleanType: (bool,),
    DateType: (date,),
    TimestampType: (datetime,),
}
_SUBCLASSES_REFUSED: dict[type[DataType], tuple[type, ...]] = {
    LongType: (bool,),
    IntegerType: (bool,),
    DateType: (datetime,),
}
_INT_LIMITS: dict[type[DataType], int] = {
    LongType: 2**63,
    IntegerType: 2**31,
}  # a value v fits when -limit <= v < limit


def _json_value(field: StructField, value: object) -> object:
    """``value`` as the JSON that Spark reads back as it, for ``field``'s column (``driver_rows``)."""
    if value is None:
        if not field.nullable:
            raise ValueError(f"column {field.name} is not nullable, but a row holds None there")
        return None
    kind = type(field.dataType)
    accepted = _ACCEPTED.get(kind)
    if accepted is None:
        raise TypeError(
            f"column {field.name}: rows of type {field.dataType.simpleString()} are not supported"
        )
    if not isinstance(value, accepted) or isinstance(value, _SUBCLASSES_REFUSED.get(kind, ())):
        raise TypeError(
            f"column {field.name} ({field.dataType.simpleString()}) cannot hold the {type(value).__name__} {value!r}"
        )
    limit = _INT_LIMITS.get(kind)
    if limit is not None and isinstance(value, int) and not -limit <= value < limit:
        raise ValueError(f"column {field.name} ({field.dataType.simpleString()}) cannot hold {value}")
    if isinstance(value, str):
        # A lone surrogate (a file name that is not UTF-8, as Python lists it) has no UTF-8 form: U+FFFD, as
        # Spark's readers decode such bytes.
        return value.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError(f"column {field.name}: a datetime without a time zone has no instant: {value}")
        return value.astimezone(UTC).isoformat(timespec="microseconds")  # the year always in four digits
    if isinstance(value, date):
        return value.isoformat()
    return value  # json writes NaN and the infinities as Spark's JSON reader reads them
