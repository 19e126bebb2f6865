"""The local crawler: registers the curated tables in a DuckDB catalog, as the Glue crawler does on AWS.

What the Glue crawler does with ``s3://<data>/curated/``, this does with ``<lake>/curated/`` into
``<lake>/catalog.duckdb``:

- every folder directly under the curated root becomes a table, except folders whose name starts with
  ``_`` or ``.`` (Glue's crawler skips those too) and folders without any Parquet file;
- Hive folders ``snapshot_date=YYYY-MM-DD`` become partitions; the partition key is a ``string``
  column, as Glue infers it for Hive partitions;
- the columns and their types come from the Parquet footers (the union of all partitions' files),
  mapped to Glue/Hive types (``int64`` -> ``bigint``, list of strings -> ``array<string>`` ...).

The quarantine lives outside the curated root (DESIGN.md s.3), so it is never crawled.

Each table is a DuckDB view over its *registered* partitions only, one glob per partition folder,
just as Athena reads only the partitions in the catalog: a partition written after the last crawl is
invisible to queries until the next crawl. A crawl is idempotent: it rebuilds the metadata of every
table it sees and reports what changed since the previous crawl (tables created, partitions added
and removed). Parquet timestamps (UTC-adjusted) are exposed as ``TIMESTAMP`` without time zone, which
is what Athena's ``timestamp`` type is.

Metadata tables (schema ``lake_catalog``): ``tables``, ``columns`` and ``partitions``. Locations are
absolute paths, as Glue's are S3 URIs: after moving a lake folder, crawl it again.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb

PARTITION_KEY = "snapshot_date"
CATALOG_FILE = "catalog.duckdb"
META_SCHEMA = "lake_catalog"
_PARTITION_DIR = re.compile(rf"^{PARTITION_KEY}=(?P<value>[^/]+)$")
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class CatalogError(RuntimeError):
    """The lake cannot be crawled, or the catalog cannot be opened."""


@dataclass(frozen=True)
class ColumnInfo:
    name: str
    glue_type: str
    is_partition_key: bool = False


@dataclass(frozen=True)
class PartitionInfo:
    value: str
    location: str
    files: int
    bytes: int


@dataclass(frozen=True)
class TableInfo:
    name: str
    location: str
    columns: tuple[ColumnInfo, ...]
    partitions: tuple[PartitionInfo, ...]


@dataclass
class CrawlResult:
    """What one crawl found and changed (the crawler's run summary)."""

    catalog_path: Path
    tables: dict[str, TableInfo] = field(default_factory=dict)
    tables_created: list[str] = field(default_factory=list)
    tables_removed: list[str] = field(default_factory=list)
    partitions_added: dict[str, list[str]] = field(default_factory=dict)
    partitions_removed: dict[str, list[str]] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0

    def format(self) -> str:
        added = sum(len(v) for v in self.partitions_added.values())
        parts = sum(len(t.partitions) for t in self.tables.values())
        lines = [
            f"crawled {len(self.tables)} tables, {parts} partitions into {self.catalog_path} "
            f"({len(self.tables_created)} tables created, {added} partitions added) in {self.seconds:.1f}s"
        ]
        for name, reason in sorted(self.skipped.items()):
            lines.append(f"  skipped {name}: {reason}")
        return "\n".join(lines)


def catalog_path_for(lake: str | Path) -> Path:
    """Where the catalog of a lake lives."""
    return Path(lake) / CATALOG_FILE


def _local_dir(path_or_uri: str | Path) -> Path:
    text = str(path_or_uri)
    if text.startswith("file://"):
        text = text.removeprefix("file://")
    elif "://" in text:
        raise CatalogError(f"the local crawler reads local folders only, got {text!r}")
    return Path(text).resolve()


def _quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _quote_str(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def glue_type(duckdb_type: str) -> str:
    """Map a DuckDB type (as read from the Parquet footer) to the type the Glue crawler would record."""
    t = duckdb_type.strip()
    upper = t.upper()
    if upper.endswith("[]"):
        return f"array<{glue_type(t[:-2])}>"
    if upper.startswith("STRUCT(") and upper.endswith(")"):
        return f"struct<{','.join(f'{n}:{glue_type(ty)}' for n, ty in _split_struct(t[7:-1]))}>"
    if upper.startswith("MAP(") and upper.endswith(")"):
        key, value = _split_top_level(t[4:-1])
        return f"map<{glue_type(key)},{glue_type(value)}>"
    if upper.startswith("DECIMAL"):
        return upper.lower()
    simple = {
        "VARCHAR": "string",
        "BIGINT": "bigint",
        "INTEGER": "int",
        "SMALLINT": "smallint",
        "TINYINT": "tinyint",
        "BOOLEAN": "boolean",
        "DOUBLE": "double",
        "FLOAT": "float",
        "DATE": "date",
        "TIMESTAMP": "timestamp",
        "TIMESTAMP WITH TIME ZONE": "timestamp",
        "TIMESTAMP_NS": "timestamp",
        "TIMESTAMP_MS": "timestamp",
        "TIMESTAMP_S": "timestamp",
        "BLOB": "binary",
        "UBIGINT": "bigint",
        "UINTEGER": "bigint",
        "USMALLINT": "int",
        "UTINYINT": "smallint",
    }
    if upper not in simple:
        raise CatalogError(f"no Glue type for Parquet column type {duckdb_type!r}")
    return simple[upper]


def _split_top_level(text: str) -> list[str]:
    parts: list[str] = []
    current: list[str] = []
    depth = 0
    for ch in text:
        if ch in "([":
            depth += 1
        elif ch in ")]":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append("".join(current).strip())
            current = []
        else:
            current.append(ch)
    if current:
        parts.append("".join(current).strip())
    return parts


def _split_struct(text: str) -> list[tuple[str, str]]:
    fields = []
    for part in _split_top_level(text):
        name, _, dtype = part.partition(" ")
        fields.append((name.strip('"'), dtype))
    return fields


def _scan_table(table_dir: Path) -> tuple[list[PartitionInfo], list[str]]:
    """The partitions of one table folder (with Parquet files) and the entries that were ignored."""
    partitions, ignored = [], []
    for child in sorted(table_dir.iterdir()):
        if child.name.startswith(("_", ".")):
            continue
        match = _PARTITION_DIR.match(child.name)
        if not child.is_dir() or match is None:
            ignored.append(child.name)
            continue
        files = [f for f in sorted(child.glob("*.parquet")) if not f.name.startswith(("_", "."))]
        if not files:
            continue
        partitions.append(
            PartitionInfo(
                value=match.group("value"),
                location=f"file://{child}",
                files=len(files),
                bytes=sum(f.stat().st_size for f in files),
            )
        )
    return partitions, ignored


def _parquet_source(table_dir: Path, partitions: list[PartitionInfo]) -> str:
    globs = ", ".join(
        _quote_str(str(table_dir / f"{PARTITION_KEY}={p.value}" / "*.parquet")) for p in partitions
    )
    return (
        f"read_parquet([{globs}], hive_partitioning = true, union_by_name = true, "
        f"hive_types = {{'{PARTITION_KEY}': VARCHAR}})"
    )


def _infer_columns(con: duckdb.DuckDBPyConnection, source: str) -> list[tuple[str, str]]:
    described = con.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()
    return [(str(row[0]), str(row[1])) for row in described]


def _view_sql(name: str, source: str, columns: list[tuple[str, str]]) -> str:
    """Data columns first (footer order), the partition key last, as a Glue table lists them."""
    select = []
    for column, dtype in columns:
        if column == PARTITION_KEY:
            continue
        if dtype.upper() == "TIMESTAMP WITH TIME ZONE":
            select.append(f"CAST({_quote_ident(column)} AS TIMESTAMP) AS {_quote_ident(column)}")
        else:
            select.append(_quote_ident(column))
    select.append(_quote_ident(PARTITION_KEY))
    return f"CREATE OR REPLACE VIEW {_quote_ident(name)} AS SELECT {', '.join(select)} FROM {source}"


def connect(catalog_path: str | Path, read_only: bool = True) -> duckdb.DuckDBPyConnection:
    """Open the catalog with UTC as the session time zone (Athena's).

    Read-only sessions attach the catalog to an in-memory database and make it the default, so that
    temporary objects (the Athena views) can be created without writing to the crawler's catalog.
    """
    path = Path(catalog_path)
    if not read_only:
        con = duckdb.connect(str(path))
    else:
        if not path.is_file():
            raise CatalogError(f"no catalog at {path}: run the crawler first (spotify-etl crawl --lake DIR)")
        con = duckdb.connect(":memory:")
        con.execute(f"ATTACH {_quote_str(str(path))} AS lake (READ_ONLY)")
        con.execute("USE lake")
    con.execute("SET TimeZone = 'UTC'")
    return con


def _ensure_meta(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {META_SCHEMA}")
    con.execute(
        f"CREATE TABLE IF NOT EXISTS {META_SCHEMA}.tables (table_name VARCHAR PRIMARY KEY, location VARCHAR, "
        "classification VARCHAR, partition_keys VARCHAR, partition_count INTEGER, file_count INTEGER, "
        "size_bytes BIGINT, last_crawled TIMESTAMP)"
    )
    con.execute(
        f"CREATE TABLE IF NOT EXISTS {META_SCHEMA}.columns (table_name VARCHAR, ordinal INTEGER, "
        "column_name VARCHAR, glue_type VARCHAR, is_partition_key BOOLEAN)"
    )
    con.execute(
        f"CREATE TABLE IF NOT EXISTS {META_SCHEMA}.partitions (table_name VARCHAR, {PARTITION_KEY} VARCHAR, "
        "location VARCHAR, file_count INTEGER, size_bytes BIGINT)"
    )


def _known(con: duckdb.DuckDBPyConnection) -> tuple[set[str], dict[str, set[str]]]:
    tables = {str(r[0]) for r in con.execute(f"SELECT table_name FROM {META_SCHEMA}.tables").fetchall()}
    partitions: dict[str, set[str]] = {}
    for table, value in con.execute(
        f"SELECT table_name, {PARTITION_KEY} FROM {META_SCHEMA}.partitions"
    ).fetchall():
        partitions.setdefault(str(table), set()).add(str(value))
    return tables, partitions


def crawl(curated_root: str | Path, catalog_path: str | Path) -> CrawlResult:
    """Crawl ``curated_root`` and (re)register its tables in the DuckDB catalog at ``catalog_path``.

    Args:
        curated_root: the curated zone (a folder or a ``file://`` URI), one sub-folder per table.
        catalog_path: the DuckDB file; created when missing.

    Returns:
        What was registered and what changed since the previous crawl.
    """
    started = time.monotonic()
    root = _local_dir(curated_root)
    result = CrawlResult(catalog_path=Path(catalog_path))
    found: dict[str, tuple[Path, list[PartitionInfo]]] = {}
    if root.is_dir():
        for table_dir in sorted(p for p in root.iterdir() if p.is_dir()):
            if table_dir.name.startswith(("_", ".")):
                continue
            if not _IDENTIFIER.match(table_dir.name):
                result.skipped[table_dir.name] = "not a valid table name"
                continue
            partitions, ignored = _scan_table(table_dir)
            if ignored:
                result.skipped[f"{table_dir.name}/{{{','.join(ignored)}}}"] = (
                    f"not a {PARTITION_KEY}=... partition folder; not registered"
                )
            if partitions:
                found[table_dir.name] = (table_dir, partitions)
            else:
                result.skipped[table_dir.name] = "no Parquet files"

    Path(catalog_path).parent.mkdir(parents=True, exist_ok=True)
    con = connect(catalog_path, read_only=False)
    in_transaction = False
    try:
        _ensure_meta(con)
        known_tables, known_partitions = _known(con)
        crawled_at = datetime.now(UTC).replace(tzinfo=None)
        con.execute("BEGIN TRANSACTION")
        in_transaction = True
        for name, (table_dir, partitions) in found.items():
            source = _parquet_source(table_dir, partitions)
            try:
                raw_columns = _infer_columns(con, source)
            except duckdb.Error as error:
                raise CatalogError(
                    f"cannot read the Parquet footers of table {name} at {table_dir}: {error}"
                ) from error
            data_columns = [
                ColumnInfo(col, glue_type(dtype)) for col, dtype in raw_columns if col != PARTITION_KEY
            ]
            columns = (*data_columns, ColumnInfo(PARTITION_KEY, "string", True))
            con.execute(_view_sql(name, source, raw_columns))
            info = TableInfo(name, f"file://{table_dir}", columns, tuple(partitions))
            result.tables[name] = info
            if name not in known_tables:
                result.tables_created.append(name)
            values = {p.value for p in partitions}
            old = known_partitions.get(name, set())
            if values - old:
                result.partitions_added[name] = sorted(values - old)
            if old - values:
                result.partitions_removed[name] = sorted(old - values)
            con.execute(f"DELETE FROM {META_SCHEMA}.tables WHERE table_name = ?", [name])
            con.execute(f"DELETE FROM {META_SCHEMA}.columns WHERE table_name = ?", [name])
            con.execute(f"DELETE FROM {META_SCHEMA}.partitions WHERE table_name = ?", [name])
            con.execute(
                f"INSERT INTO {META_SCHEMA}.tables VALUES (?, ?, 'parquet', ?, ?, ?, ?, ?)",
                [
                    name,
                    info.location,
                    PARTITION_KEY,
                    len(partitions),
                    sum(p.files for p in partitions),
                    sum(p.bytes for p in partitions),
                    crawled_at,
                ],
            )
            con.executemany(
                f"INSERT INTO {META_SCHEMA}.columns VALUES (?, ?, ?, ?, ?)",
                [[name, i, c.name, c.glue_type, c.is_partition_key] for i, c in enumerate(columns)],
            )
            con.executemany(
                f"INSERT INTO {META_SCHEMA}.partitions VALUES (?, ?, ?, ?, ?)",
                [[name, p.value, p.location, p.files, p.bytes] for p in partitions],
            )
        for gone in sorted(known_tables - set(found)):
            # The folder disappeared: like a crawler with DELETE_FROM_DATABASE, drop the table.
            con.execute(f"DROP VIEW IF EXISTS {_quote_ident(gone)}")
            for meta in ("tables", "columns", "partitions"):
                con.execute(f"DELETE FROM {META_SCHEMA}.{meta} WHERE table_name = ?", [gone])
            result.tables_removed.append(gone)
        con.execute("COMMIT")
        in_transaction = False
    except BaseException:
        if in_transaction:
            con.execute("ROLLBACK")
        raise
    finally:
        con.close()
    result.seconds = time.monotonic() - started
    return result


def crawl_lake(lake: str | Path) -> CrawlResult:
    """Crawl ``<lake>/curated`` into ``<lake>/catalog.duckdb``."""
    return crawl(Path(lake) / "curated", catalog_path_for(lake))
