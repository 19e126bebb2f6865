"""A DuckDB session whose views are a local lake's curated tables, read from their Parquet files.

``spotify-etl quality`` reads the tables themselves (``curated/<table>/snapshot_date=*/*.parquet``), not
the crawler's catalog, so that it judges what is on disk even before a crawl. ``snapshot_date`` stays a
string, as the catalog declares it (DuckDB would otherwise guess a DATE from the folder names), and the
session's time zone is UTC, as the Spark sessions' are (``spark.sql.session.timeZone``), so that
timestamps compare the same on both engines.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import duckdb
from pyspark.sql.types import ArrayType, DataType  # types only: no JVM is started

from spotify_etl.lake import LakeLayout, local_path
from spotify_etl.quality.dqdl import Rule
from spotify_etl.quality.evaluate import DuckDbEngine, RuleResult, evaluate
from spotify_etl.quality.translate import referenced_tables
from spotify_etl.transform.registry import TABLE_SCHEMAS

_DUCKDB_TYPES = {
    "string": "VARCHAR",
    "bigint": "BIGINT",
    "int": "INTEGER",
    "boolean": "BOOLEAN",
    "timestamp": "TIMESTAMPTZ",
    "date": "DATE",
}


class MissingTableError(RuntimeError):
    """The lake has no curated zone at all, or no table of a name the rules use (nothing to judge)."""


def duckdb_type(dtype: DataType) -> str:
    """The DuckDB type of a curated column's Spark type (timestamps are instants, as Spark writes them)."""
    if isinstance(dtype, ArrayType):
        return f"{duckdb_type(dtype.elementType)}[]"
    return _DUCKDB_TYPES[dtype.simpleString()]


def _empty_table(con: duckdb.DuckDBPyConnection, table: str) -> None:
    """A table with no Parquet file yet is an empty table of its declared columns (RowCount sees 0)."""
    columns = ", ".join(f'"{f.name}" {duckdb_type(f.dataType)}' for f in TABLE_SCHEMAS[table].fields)
    con.execute(f'CREATE TABLE "{table}" ({columns})')


def open_lake(layout: LakeLayout, tables: Iterable[str]) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB session with one view per table of ``tables``."""
    if not local_path(layout.curated).is_dir():
        raise MissingTableError(f"no curated tables under {local_path(layout.curated)}")
    con = duckdb.connect(":memory:")
    con.execute("SET TimeZone = 'UTC'")
    for table in sorted(set(tables)):
        folder = local_path(layout.table(table))
        files = sorted(folder.glob("snapshot_date=*/*.parquet"))
        if not files and table not in TABLE_SCHEMAS:
            con.close()
            raise MissingTableError(f"no table {table} in the lake (a ruleset or a rule names it)")
        if not files:
            _empty_table(con, table)
            continue
        pattern = str(folder / "snapshot_date=*" / "*.parquet").replace("'", "''")
        con.execute(
            f"CREATE VIEW \"{table}\" AS SELECT * FROM read_parquet('{pattern}', "
            "hive_partitioning = true, hive_types = {'snapshot_date': VARCHAR})"
        )
    return con


def judge_lake(layout: LakeLayout, rulesets: dict[str, list[Rule]], clock: datetime) -> list[RuleResult]:
    """Evaluate ``rulesets`` on the lake's Parquet with DuckDB (``now()`` = ``clock``)."""
    tables = set(rulesets) | {t for rules in rulesets.values() for r in rules for t in referenced_tables(r)}
    con = open_lake(layout, tables)
    try:
        return evaluate(DuckDbEngine(con), rulesets, clock)
    finally:
        con.close()
