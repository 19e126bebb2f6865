"""Tables read through symlink manifests, as Athena reads them: the local twin of ``SymlinkTextInputFormat``.

The six curated tables are declared with Hive's ``SymlinkTextInputFormat`` and the Parquet SerDe
(infra/scripts/catalog_tables.py): a partition's location holds a manifest, one file URI per line, and a query
reads exactly the files the manifests list, as AWS declares the Parquet tables of S3 Inventory for Athena
(https://docs.aws.amazon.com/AmazonS3/latest/userguide/storage-inventory-athena-query.html). Athena reads *every*
object of a partition's location ("Athena reads all data stored in the Amazon S3 folder that you specify",
https://docs.aws.amazon.com/athena/latest/ug/tables-location-format.html), so here every file of the folder is
read as a manifest, hidden ones included: a stray file there would break the twin as it would break Athena.

A query reads the manifests as they are when it starts. DuckDB cannot read a file list inside a view at query
time, so a read-only session (:func:`create_session_views`) resolves the manifests when it opens and defines
each symlink table as a temporary view over those files; the crawler's persistent view holds the files of
the crawl. A manifest naming a missing file fails the query, as on Athena.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import duckdb

from spotify_etl.aws_twin.catalog_types import CatalogError, duckdb_type, glue_type, quote_ident, quote_str
from spotify_etl.lake import local_path, manifest_entries

SYMLINK_INPUT_FORMAT = "org.apache.hadoop.hive.ql.io.SymlinkTextInputFormat"
_META = "lake_catalog"


@dataclass(frozen=True)
class ListedPartition:
    values: tuple[str, ...]
    files: tuple[str, ...]  # local paths of the Parquet files its manifests list


def listed_files(directory: Path) -> tuple[str, ...]:
    """The files the manifests of one partition folder list (every file of the folder is a manifest)."""
    if not directory.is_dir():
        return ()
    found: list[str] = []
    for manifest in sorted(p for p in directory.iterdir() if p.is_file()):
        found += [str(local_path(uri)) for uri in manifest_entries(manifest.read_bytes())]
    return tuple(found)


def footer_columns(con: duckdb.DuckDBPyConnection, name: str, files: Sequence[str]) -> dict[str, str]:
    """Column -> Glue type, from the Parquet footers of ``files``."""
    if not files:
        return {}
    listed = ", ".join(quote_str(f) for f in files)
    try:
        described = con.execute(
            f"DESCRIBE SELECT * FROM read_parquet([{listed}], union_by_name = true, hive_partitioning = false)"
        ).fetchall()
    except duckdb.Error as error:
        raise CatalogError(f"cannot read the Parquet files table {name}'s manifests list: {error}") from error
    return {str(row[0]): glue_type(str(row[1])) for row in described}


def view_sql(
    name: str,
    columns: Sequence[tuple[str, str]],
    keys: Sequence[str],
    partitions: Sequence[ListedPartition],
    footer: dict[str, str],
    temporary: bool = False,
) -> str:
    """A view reading exactly the listed files, each row tagged with the values of the partition listing it."""
    create = f"CREATE OR REPLACE {'TEMPORARY ' if temporary else ''}VIEW {quote_ident(name)} AS SELECT "
    quoted_keys = [quote_ident(k) for k in keys]
    rows = [(f, p.values) for p in partitions for f in p.files]
    if not rows:
        select = [f"CAST(NULL AS {duckdb_type(glue)}) AS {quote_ident(n)}" for n, glue in columns]
        select += [f"CAST(NULL AS VARCHAR) AS {k}" for k in quoted_keys]
        return create + ", ".join(select) + " WHERE false"
    select = [
        f"CAST({'d.' + quote_ident(n) if n in footer else 'NULL'} AS {duckdb_type(glue)}) AS {quote_ident(n)}"
        for n, glue in columns
    ]
    select += [f"p.{k}" for k in quoted_keys]
    files = ", ".join(quote_str(f) for f, _ in rows)
    values = ", ".join("(" + ", ".join(quote_str(v) for v in (f, *vals)) + ")" for f, vals in rows)
    return (
        create + ", ".join(select) + " "
        f"FROM read_parquet([{files}], union_by_name = true, hive_partitioning = false, filename = true) d "
        f"JOIN (VALUES {values}) p(file, {', '.join(quoted_keys)}) ON d.filename = p.file"
    )


def create_session_views(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Define every symlink table of the catalog as a temporary view over its manifests as they are now.

    Returns:
        The folders of the listed files (a read-only session must be allowed to read them).
    """
    try:
        tables = con.execute(
            f"SELECT table_name, partition_keys FROM {_META}.tables WHERE input_format = ?",
            [SYMLINK_INPUT_FORMAT],
        ).fetchall()
    except duckdb.Error:  # a catalog without tables, or written before symlink tables
        return []
    folders: set[str] = set()
    for name, keys_text in tables:
        keys = [k for k in str(keys_text).split(",") if k]
        columns = [
            (str(c), str(t))
            for c, t in con.execute(
                f"SELECT column_name, glue_type FROM {_META}.columns "
                "WHERE table_name = ? AND NOT is_partition_key ORDER BY ordinal",
                [name],
            ).fetchall()
        ]
        partitions = [
            ListedPartition(tuple(str(value).split("/")), listed_files(local_path(str(location))))
            for value, location in con.execute(
                f"SELECT snapshot_date, location FROM {_META}.partitions WHERE table_name = ? ORDER BY 1",
                [name],
            ).fetchall()
        ]
        files = [f for p in partitions for f in p.files]
        folders |= {str(Path(f).parent) + "/" for f in files}
        con.execute(view_sql(name, columns, keys, partitions, footer_columns(con, name, files), True))
    return sorted(folders)
