"""Schema alignment: rows in exactly a curated table's schema, nullability included.

Shared by the table builders (``tables.py``) and the merge rule (``merge.py``), which both hand rows to the
writer in the declared schema; it sits below both so that neither imports the other.
"""

from __future__ import annotations

from datetime import UTC, datetime

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import StructType


def conform(df: DataFrame, schema: StructType) -> DataFrame:
    """``df`` with exactly ``schema``: those columns, in that order, cast to those types, with that
    nullability. Extra columns are dropped.

    Spark derives nullability from expressions and offers no way to declare it, so it is carried by
    identity expressions: ``when(x IS NOT NULL, x)`` is nullable, and ``coalesce(x, literal)`` is not.
    The non-nullable columns are keys, positions and provenance, which the builders never leave null;
    rows read back from Parquet (where Spark makes every column nullable) were written from them. So a
    row with a null there is filtered out first (a row without its key cannot be placed), which makes
    the ``coalesce`` a no-op that only carries the nullability.

    Raises:
        ValueError: ``df`` lacks some of the schema's columns (all of them are named).
    """
    missing = [name for name in schema.fieldNames() if name not in df.columns]
    if missing:
        raise ValueError(
            f"rows for a table of columns {', '.join(schema.fieldNames())} lack the columns "
            f"{', '.join(missing)} (they have: {', '.join(df.columns)})"
        )
    nullable_now = {field.name: field.nullable for field in df.schema.fields}
    keyed_df = df
    columns = []
    for field in schema.fields:
        column = F.col(field.name).cast(field.dataType)
        if not field.nullable:
            if nullable_now.get(field.name, True):
                keyed_df = keyed_df.where(F.col(field.name).isNotNull())
            column = F.coalesce(column, _placeholder(field.dataType.simpleString()))
        elif not nullable_now.get(field.name, True):
            column = F.when(column.isNotNull(), column)
        columns.append(column.alias(field.name))
    return keyed_df.select(*columns)


def _placeholder(type_name: str) -> Column:
    """A typed non-null literal for ``conform``'s nullability-only coalesce (never actually used)."""
    if type_name == "timestamp":
        return F.lit(datetime(1970, 1, 1, tzinfo=UTC))
    return F.lit("" if type_name == "string" else 0).cast(type_name)
