"""The Glue Data Catalog's view of the curated tables, derived from the transform's own schemas.

One source: ``TABLE_SCHEMAS`` (what the transform writes) -> the Glue/Hive column types the template declares
(``python -m infra.scripts.catalog_tables`` renders the ``AWS::Glue::Table`` resources from here; a test fails
when the template drifts). Glue types are Hive DDL type strings:
https://docs.aws.amazon.com/glue/latest/dg/aws-glue-api-catalog-tables.html#aws-glue-api-catalog-tables-Column
(``Type``: "the data type of the Column") and Athena's Parquet type mapping
https://docs.aws.amazon.com/athena/latest/ug/data-types.html (int64 -> bigint, int32 -> int, timestamp, date).
"""

from __future__ import annotations

from pyspark.sql.types import (
    ArrayType,
    BooleanType,
    DataType,
    DateType,
    DoubleType,
    IntegerType,
    LongType,
    MapType,
    StringType,
    StructType,
    TimestampType,
)

from spotify_etl.transform.registry import TABLE_SCHEMAS

PARTITION_KEY = "snapshot_date"
PARTITION_KEY_TYPE = "string"

_SIMPLE: tuple[tuple[type[DataType], str], ...] = (
    (StringType, "string"),
    (LongType, "bigint"),
    (IntegerType, "int"),
    (BooleanType, "boolean"),
    (DoubleType, "double"),
    (DateType, "date"),
    (TimestampType, "timestamp"),
)


def glue_type_of(dtype: DataType) -> str:
    """The Hive/Glue type string of a Spark type (the types the curated tables use)."""
    if isinstance(dtype, ArrayType):
        return f"array<{glue_type_of(dtype.elementType)}>"
    if isinstance(dtype, MapType):
        return f"map<{glue_type_of(dtype.keyType)},{glue_type_of(dtype.valueType)}>"
    if isinstance(dtype, StructType):
        return "struct<" + ",".join(f"{f.name}:{glue_type_of(f.dataType)}" for f in dtype.fields) + ">"
    for spark_type, glue in _SIMPLE:
        if isinstance(dtype, spark_type):
            return glue
    raise ValueError(f"no Glue type for Spark type {dtype.simpleString()}")


def declared_columns(table: str) -> list[tuple[str, str]]:
    """The data columns of a curated table as the catalog declares them (the partition key is separate)."""
    return [
        (field.name, glue_type_of(field.dataType))
        for field in TABLE_SCHEMAS[table].fields
        if field.name != PARTITION_KEY
    ]
