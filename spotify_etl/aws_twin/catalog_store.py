"""The local catalog's DuckDB file: opening it (Athena's UTC session), and its metadata tables.

The crawler (:mod:`spotify_etl.aws_twin.crawler`) writes the catalog; queries, the report and the read-only
guard (:mod:`spotify_etl.aws_twin.readonly`) open it. Metadata tables (schema ``lake_catalog``): ``tables``,
``columns`` and ``partitions`` (the ``snapshot_date`` column holds the partition's values, ``/``-joined when
a table has several keys).
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from spotify_etl.aws_twin.catalog_types import CatalogError, quote_str

PARTITION_KEY = "snapshot_date"
META_SCHEMA = "lake_catalog"


def connect(catalog_path: str | Path, read_only: bool = True) -> duckdb.DuckDBPyConnection:
    """Open the catalog with UTC as the session time zone (Athena's).

    Read-only sessions attach the catalog to an in-memory database and make it the default, so that
    temporary objects (the Athena views) can be created without writing to the crawler's catalog.
    """
    path = Path(catalog_path)
    if read_only and not path.is_file():
        raise CatalogError(f"no catalog at {path}: run the crawler first (spotify-etl crawl --lake DIR)")
    try:
        if not read_only:
            con = duckdb.connect(str(path))
        else:
            con = duckdb.connect(":memory:")
            con.execute(f"ATTACH {quote_str(str(path))} AS lake (READ_ONLY)")
            con.execute("USE lake")
    except duckdb.Error as error:
        raise CatalogError(_open_failure(path, error)) from error
    con.execute("SET TimeZone = 'UTC'")
    return con


def _open_failure(path: Path, error: duckdb.Error) -> str:
    """One line on why the catalog would not open: held by another process, not a catalog, or else."""
    text = " ".join(str(error).split())
    if "Could not set lock" in text:  # DuckDB: one writing process, or any number of reading ones
        # https://duckdb.org/docs/stable/connect/concurrency
        return (
            f"the catalog {path} is open in another process (a query, the report or a crawl); "
            f"close it and run again ({text[:160]})"
        )
    if "not a valid DuckDB database" in text:
        return (
            f"the catalog {path} is not a DuckDB database (corrupt?); it holds nothing the lake does not: "
            "delete it and run 'spotify-etl crawl --lake DIR', which rebuilds it"
        )
    return f"the catalog {path} cannot be opened: {text[:200]}"


def ensure_meta(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {META_SCHEMA}")
    con.execute(
        f"CREATE TABLE IF NOT EXISTS {META_SCHEMA}.tables (table_name VARCHAR PRIMARY KEY, location VARCHAR, "
        "classification VARCHAR, partition_keys VARCHAR, partition_count INTEGER, file_count INTEGER, "
        "size_bytes BIGINT, last_crawled TIMESTAMP)"
    )
    con.execute(f"ALTER TABLE {META_SCHEMA}.tables ADD COLUMN IF NOT EXISTS input_format VARCHAR")
    con.execute(
        f"CREATE TABLE IF NOT EXISTS {META_SCHEMA}.columns (table_name VARCHAR, ordinal INTEGER, "
        "column_name VARCHAR, glue_type VARCHAR, is_partition_key BOOLEAN)"
    )
    con.execute(
        f"CREATE TABLE IF NOT EXISTS {META_SCHEMA}.partitions (table_name VARCHAR, {PARTITION_KEY} VARCHAR, "
        "location VARCHAR, file_count INTEGER, size_bytes BIGINT)"
    )


def known_entries(con: duckdb.DuckDBPyConnection) -> tuple[set[str], dict[str, set[str]]]:
    tables = {str(r[0]) for r in con.execute(f"SELECT table_name FROM {META_SCHEMA}.tables").fetchall()}
    partitions: dict[str, set[str]] = {}
    for table, value in con.execute(
        f"SELECT table_name, {PARTITION_KEY} FROM {META_SCHEMA}.partitions"
    ).fetchall():
        partitions.setdefault(str(table), set()).add(str(value))
    return tables, partitions
