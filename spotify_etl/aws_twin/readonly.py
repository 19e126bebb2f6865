"""Read-only sessions on the catalog: a query may read the lake's registered tables and nothing else.

Two layers, because each covers what the other cannot:

1. **DuckDB's own file-access settings** (https://duckdb.org/docs/stable/operations_manual/securing_duckdb/overview,
   DuckDB 1.5, the version of ``uv.lock``): once the catalog is attached and the Athena views exist, the
   session gets ``allowed_directories`` = the folders of the catalog's tables, then
   ``enable_external_access = false`` (no file outside those folders is opened: ``read_csv('/etc/passwd')``,
   ``ATTACH``, ``INSTALL``/``LOAD`` of extensions are refused) and ``lock_configuration = true`` (a query
   cannot ``SET`` any of it back).
2. **Only queries run.** DuckDB's allowed directories are readable *and writable*, so ``COPY ... TO`` a
   table folder would still succeed (and the crawler would register the file). Every statement is parsed
   (Trino SQL, sqlglot) and only a query (``SELECT``/``WITH``/set operations) or ``DESCRIBE`` is run;
   ``COPY``, ``INSERT``, ``CREATE``, ``SET``, ``ATTACH``, ``PRAGMA``, ``CALL`` ... are refused before
   DuckDB sees them.

The functions below return the one-line message of a refusal; the caller raises it (``QueryRefused``).
"""

from __future__ import annotations

import duckdb
from sqlglot import exp

from spotify_etl.aws_twin.catalog_store import META_SCHEMA

READ_STATEMENTS = (exp.Query, exp.Describe)


def not_a_query(trees: list[exp.Expression], name: str) -> str | None:
    """The refusal of the first parsed statement that is not a query (layer 2), or None when all are."""
    for tree in trees:
        if not isinstance(tree, READ_STATEMENTS):
            words = tree.sql(dialect="trino").split()
            return (
                f"{name}: refused: only SELECT queries run on the lake's catalog (read-only), "
                f"not {words[0].upper() if words else 'this statement'}"
            )
    return None


def table_folders(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The folders of the tables the crawler registered (``lake_catalog.tables.location``)."""
    try:
        rows = con.execute(f"SELECT location FROM {META_SCHEMA}.tables ORDER BY location").fetchall()
    except duckdb.CatalogException:  # a catalog without any table yet
        return []
    return [str(location).rstrip("/") + "/" for (location,) in rows]


def lock_down(con: duckdb.DuckDBPyConnection, data_folders: list[str] | None = None) -> None:
    """Allow reads of the catalog's table folders (and the folders of the files the symlink tables' manifests
    list) only, then lock the session's configuration (layer 1)."""
    folders = table_folders(con) + (data_folders or [])
    con.execute("SET allowed_directories = ?", [folders])
    con.execute("SET enable_external_access = false")
    con.execute("SET lock_configuration = true")


def refusal(error: duckdb.PermissionException, name: str) -> str:
    """DuckDB's permission error (layer 1) as a one-line refusal."""
    detail = str(error).splitlines()[0].removeprefix("Permission Error: ")
    return f"{name}: refused: {detail} (queries read only the lake's catalog)"
