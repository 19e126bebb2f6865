"""Schema alignment: rows in exactly a curated table's schema, nullability included.

Shared by the table builders (``tables.py``) and the merge rule (``merge.py``), which both hand rows to the
writer in the declared schema; it sits below both so that neither imports the other.
"""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql.types import StructField, StructType


def conform(df: DataFrame, schema: StructType) -> DataFrame:
    """``df`` with exactly ``schema``: those columns, in that order, cast to those types, with that
    nullability. Extra columns are dropped. A ``df`` already of exactly ``schema`` is returned as it is.

    Spark derives nullability from expressions and offers no way to declare it, so it is carried by
    identity expressions: ``when(x IS NOT NULL, x)`` is nullable, and ``coalesce(x, literal)`` is not.
    The non-nullable columns are keys, positions and provenance, which the builders never leave null;
    rows read back from Parquet (where Spark makes every column nullable) were written from them. So a
    row with a null there is filtered out first (a row without its key cannot be placed), which makes
    the ``coalesce`` a no-op that only carries the nullability. A column that already has its nullability is
    only cast (a no-op cast Spark removes), so it stays the same column to the planner: rows hash-partitioned
    on it stay partitioned by it (the writer's one shuffle per table, I4).

    Raises:
        ValueError: ``df`` lacks some of the schema's columns (all of them are named).
    """
    now_schema = df.schema
    if now_schema == schema:  # already conformed (a builder's rows, the merge's): nothing to add to the plan
        return df
    columns = now_schema.fieldNames()
    missing = [name for name in schema.fieldNames() if name not in columns]
    if missing:
        raise ValueError(
            f"rows for a table of columns {', '.join(schema.fieldNames())} lack the columns "
            f"{', '.join(missing)} (they have: {', '.join(columns)})"
        )
    now = {field.name: field for field in now_schema.fields}
    keys = [
        f"{_quoted(f.name)} IS NOT NULL" for f in schema.fields if not f.nullable and now[f.name].nullable
    ]
    keyed_df = df.where(" AND ".join(keys)) if keys else df
    return keyed_df.selectExpr(*(_conformed(field, now[field.name]) for field in schema.fields))


def _conformed(field: StructField, now: StructField) -> str:
    """One column as Spark SQL: cast to the field's type, carrying its nullability (``conform``); ``now`` is the
    column as it is. SQL text, one expression per column, so a table's conform is one call to the JVM rather
    than a few per column. A cast to another type can make a non-nullable column nullable (a string that is no
    number), so such a column keeps the ``coalesce`` even when it is not nullable now."""
    name = _quoted(field.name)
    column = f"CAST({name} AS {field.dataType.simpleString()})"
    if not field.nullable and (now.nullable or now.dataType != field.dataType):
        column = f"coalesce({column}, {_placeholder(field.dataType.simpleString())})"
    elif field.nullable and not now.nullable:
        column = f"CASE WHEN {column} IS NOT NULL THEN {column} END"
    return f"{column} AS {name}"


def _quoted(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def _placeholder(type_name: str) -> str:
    """A typed non-null literal for ``conform``'s nullability-only coalesce (never actually used)."""
    if type_name == "timestamp":
        return "TIMESTAMP '1970-01-01 00:00:00'"  # the session's time zone is UTC (sparkutil)
    literal = "''" if type_name == "string" else "0"
    return f"CAST({literal} AS {type_name})"
