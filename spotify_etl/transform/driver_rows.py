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
the batch that produced them (hundreds of rejected objects, a bisection of a large batch).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, date, datetime

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import ArrayType, StructType

from spotify_etl.transform.conform import conform

MAX_LITERAL_ROWS = 256
_TIMESTAMP_FORMAT = "yyyy-MM-dd'T'HH:mm:ss.SSSSSSXXX"  # what _json_value writes: microseconds, UTC offset


def driver_rows(spark: SparkSession, rows: Sequence[Sequence[object]], schema: StructType) -> DataFrame:
    """``rows`` (tuples in ``schema``'s column order) as a DataFrame of exactly ``schema``, nullability included;
    in the plan up to ``MAX_LITERAL_ROWS`` rows, else by ``createDataFrame``.

    Values: ``str``, ``int``, ``float`` (NaN and infinities included), ``bool``, ``None``, ``date``, and
    ``datetime`` with a time zone (a naive one has no instant).

    Raises:
        ValueError: a row's length differs from the schema's, ``None`` in a non-nullable column, or a naive
            ``datetime`` (all before Spark is called).
        TypeError: a value of another type.
    """
    names = schema.fieldNames()
    records = []
    for row in rows:
        if len(row) != len(names):
            raise ValueError(f"a row of {len(row)} values for the {len(names)} columns {', '.join(names)}")
        for field, value in zip(schema.fields, row, strict=True):
            if value is None and not field.nullable:
                raise ValueError(f"column {field.name} is not nullable, but a row holds None there")
        records.append({name: _json_value(value) for name, value in zip(names, row, strict=True)})
    if len(records) > MAX_LITERAL_ROWS:
        return spark.createDataFrame(rows, schema)
    options = {"mode": "FAILFAST", "timestampFormat": _TIMESTAMP_FORMAT}
    parsed = F.from_json(F.lit(json.dumps(records, allow_nan=True)), ArrayType(schema), options)
    # One row to explode the rows from: a SELECT of no table, not spark.range, whose first call in a JVM costs
    # about 0.8 s (its typed Dataset's encoder starts Scala reflection).
    return conform(spark.sql("SELECT 1").select(F.inline(parsed)), schema)


def _json_value(value: object) -> object:
    if value is None or isinstance(value, str | int | float | bool):
        return value  # json writes NaN and the infinities as Spark's JSON reader reads them
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError(f"a datetime without a time zone has no instant: {value.isoformat()}")
        return value.astimezone(UTC).isoformat(timespec="microseconds")  # the year always in four digits
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"no JSON form for a {type(value).__name__} value: {value!r}")
