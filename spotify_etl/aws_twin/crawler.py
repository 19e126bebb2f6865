"""The local crawler: runs the template's crawler over the lake into a DuckDB catalog, as Glue does on AWS.

The crawler's targets and configuration come from ``infra/cloudformation/template.yaml``
(:mod:`spotify_etl.aws_twin.crawler_spec`, checked against AWS's rules there); the lake folder stands for the data
bucket. What is found (:mod:`spotify_etl.aws_twin.crawler_discovery`):

- catalog targets: the declared tables, always registered (CloudFormation created them), with the declared
  columns and the partitions found under their location. The crawler never changes a declared table: a Parquet
  column whose type differs from the declared one fails the crawl, naming both (Athena's query would fail);
- S3 targets: the tables at the configured level (bucket = level 1), columns from the Parquet footers.

DeleteBehavior ``LOG`` keeps a registered partition or table whose folder disappeared (logged in ``skipped``);
``DELETE_FROM_DATABASE`` removes it.

Each table is a DuckDB view over its *registered* partitions only, one glob per partition folder,
just as Athena reads only the partitions in the catalog: a partition written after the last crawl is
invisible to queries until the next crawl. A crawl is idempotent: it rebuilds the metadata of every
table it sees and reports what changed since the previous crawl (tables created, partitions added
and removed). Parquet timestamps (UTC-adjusted) are exposed as ``TIMESTAMP`` without time zone, which
is what Athena's ``timestamp`` type is.

Metadata tables (schema ``lake_catalog``): ``tables``, ``columns`` and ``partitions`` (the ``snapshot_date``
column holds the partition's values, ``/``-joined when a table has several keys). Locations are absolute paths,
as Glue's are S3 URIs: after moving a lake folder, crawl it again.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from spotify_etl.aws_twin.catalog_store import META_SCHEMA, PARTITION_KEY, connect, ensure_meta, known_entries
from spotify_etl.aws_twin.catalog_types import CatalogError, duckdb_type, glue_type, quote_ident, quote_str
from spotify_etl.aws_twin.crawler_discovery import FoundTable, find_catalog_table, find_s3_tables
from spotify_etl.aws_twin.crawler_spec import CrawlerSpec, CrawlerSpecError, crawler_spec
from spotify_etl.aws_twin.symlink_tables import (
    SYMLINK_INPUT_FORMAT,
    ListedPartition,
    footer_columns,
    listed_files,
    view_sql,
)
from spotify_etl.cfn_template import DEFAULT_TEMPLATE, TemplateError, load_template
from spotify_etl.lake import LakeLayout, NotLocalError, local_path, path_uri

__all__ = ["CatalogError", "crawl", "crawl_lake", "glue_type"]


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


def _local_dir(path_or_uri: str | Path) -> Path:
    try:
        return local_path(path_or_uri).resolve()
    except NotLocalError as error:
        raise CatalogError(f"the local crawler reads local folders only, got {str(path_or_uri)!r}") from error


def _footer_columns(con: duckdb.DuckDBPyConnection, table: FoundTable) -> dict[str, str]:
    """Column -> Glue type, as the Parquet footers of the table's registered partitions give them."""
    if not table.partitions:
        return {}
    files = ", ".join(quote_str(str(p.directory / "*.parquet")) for p in table.partitions)
    try:
        described = con.execute(
            f"DESCRIBE SELECT * FROM read_parquet([{files}], union_by_name = true, hive_partitioning = false)"
        ).fetchall()
    except duckdb.Error as error:
        raise CatalogError(
            f"cannot read the Parquet footers of table {table.name} at {table.directory}: {error}"
        ) from error
    return {str(row[0]): glue_type(str(row[1])) for row in described}


def _create_view(con: duckdb.DuckDBPyConnection, table: FoundTable) -> list[tuple[str, str]]:
    """(Re)create the table's view over its registered partitions; returns its data columns."""
    if not table.symlink:
        footer = _footer_columns(con, table)
        columns = _columns(table, footer)
        con.execute(_view_sql(table, columns, footer))
        return columns
    listed = [ListedPartition(p.values, listed_files(p.directory)) for p in table.partitions]
    footer = footer_columns(con, table.name, [f for p in listed for f in p.files])
    columns = _columns(table, footer)
    con.execute(view_sql(table.name, columns, table.partition_keys, listed, footer))
    return columns


def _columns(table: FoundTable, footer: dict[str, str]) -> list[tuple[str, str]]:
    """The table's data columns: the declared ones (checked against the footers), or the inferred ones.

    A declared column the files lack reads as NULL (Athena resolves Parquet columns by name); a declared column
    whose type differs from the file's fails here, where Athena's query would fail (HIVE_BAD_DATA).
    """
    if table.declared_columns is None:
        return [(name, glue) for name, glue in footer.items() if name not in table.partition_keys]
    for name, declared in table.declared_columns:
        if name in footer and footer[name] != declared:
            raise CatalogError(
                f"table {table.name}: column {name} is declared {declared} in the template but the Parquet "
                f"files hold {footer[name]}; Athena fails reading it (HIVE_BAD_DATA). Regenerate the tables: "
                "python -m infra.scripts.catalog_tables"
            )
    return list(table.declared_columns)


def _view_sql(table: FoundTable, columns: list[tuple[str, str]], footer: dict[str, str]) -> str:
    """A view over the registered partitions only, data columns first, then the partition keys (as Glue lists)."""
    keys = [quote_ident(k) for k in table.partition_keys]
    if not table.partitions:
        select = [f"CAST(NULL AS {duckdb_type(glue)}) AS {quote_ident(n)}" for n, glue in columns]
        select += [f"CAST(NULL AS VARCHAR) AS {k}" for k in keys]
        return f"CREATE OR REPLACE VIEW {quote_ident(table.name)} AS SELECT {', '.join(select)} WHERE false"
    select = [
        f"CAST({'d.' + quote_ident(n) if n in footer else 'NULL'} AS {duckdb_type(glue)}) AS {quote_ident(n)}"
        for n, glue in columns
    ]
    select += [f"p.{k}" for k in keys]
    globs = ", ".join(quote_str(str(p.directory / "*.parquet")) for p in table.partitions)
    rows = ", ".join(
        "(" + ", ".join(quote_str(v) for v in (str(p.directory), *p.values)) + ")" for p in table.partitions
    )
    return (
        f"CREATE OR REPLACE VIEW {quote_ident(table.name)} AS SELECT {', '.join(select)} "
        f"FROM read_parquet([{globs}], union_by_name = true, hive_partitioning = false, filename = true) d "
        f"JOIN (VALUES {rows}) p(directory, {', '.join(keys)}) "
        "ON regexp_extract(d.filename, '^(.*)/[^/]*$', 1) = p.directory"
    )


def _discover(lake: Path, spec: CrawlerSpec, skipped: dict[str, str]) -> list[FoundTable]:
    tables = [find_catalog_table(lake, declared, skipped) for declared in spec.catalog_tables]
    for target in spec.s3_targets:
        tables += find_s3_tables(lake, target, spec.table_level or 0, skipped)
    names = [t.name for t in tables]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise CatalogError(
            f"crawler {spec.logical_id} would make several tables named {', '.join(duplicates)}"
        )
    return tables


def crawl(lake_root: str | Path, catalog_path: str | Path, spec: CrawlerSpec) -> CrawlResult:
    """Run the template's crawler ``spec`` over the lake folder (standing for the data bucket).

    Returns:
        What was registered and what changed since the previous crawl.
    """
    started = time.monotonic()
    lake = _local_dir(lake_root)
    result = CrawlResult(catalog_path=Path(catalog_path))
    found = _discover(lake, spec, result.skipped)
    Path(catalog_path).parent.mkdir(parents=True, exist_ok=True)
    con = connect(catalog_path, read_only=False)
    in_transaction = False
    try:
        ensure_meta(con)
        known_tables, known_partitions = known_entries(con)
        crawled_at = datetime.now(UTC).replace(tzinfo=None)
        con.execute("BEGIN TRANSACTION")
        in_transaction = True
        for table in found:
            if table.declared_columns is None and not table.partitions:
                continue
            columns = _create_view(con, table)
            info = _table_info(table, columns)
            known = known_partitions.get(table.name, set())
            kept = _note_changes(result, info, table.name not in known_tables, known, spec.delete_behavior)
            _write_meta(con, info, table.partition_keys, kept, crawled_at, table.symlink)
        _remove_gone_tables(con, spec, known_tables - {t.name for t in found}, result)
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


def _remove_gone_tables(
    con: duckdb.DuckDBPyConnection, spec: CrawlerSpec, gone_tables: set[str], result: CrawlResult
) -> None:
    """Tables registered before but no longer found: dropped (DELETE_FROM_DATABASE) or kept and logged."""
    for gone in sorted(gone_tables):
        if spec.delete_behavior != "DELETE_FROM_DATABASE":
            result.skipped[gone] = "no longer found; kept in the catalog (DeleteBehavior LOG)"
            continue
        con.execute(f"DROP VIEW IF EXISTS {quote_ident(gone)}")
        for meta in ("tables", "columns", "partitions"):
            con.execute(f"DELETE FROM {META_SCHEMA}.{meta} WHERE table_name = ?", [gone])
        result.tables_removed.append(gone)


def _table_info(table: FoundTable, columns: list[tuple[str, str]]) -> TableInfo:
    """What the catalog records of a found table: its columns (partition keys last) and partitions."""
    partitions = tuple(
        PartitionInfo(
            "/".join(p.values), path_uri(p.directory), len(p.files), sum(f.stat().st_size for f in p.files)
        )
        for p in table.partitions
    )
    infos = (
        *(ColumnInfo(n, g) for n, g in columns),
        *(ColumnInfo(k, "string", True) for k in table.partition_keys),
    )
    return TableInfo(table.name, path_uri(table.directory), infos, partitions)


def _note_changes(
    result: CrawlResult, info: TableInfo, created: bool, known: set[str], delete_behavior: str
) -> list[str]:
    """Record the table and what changed since the last crawl; returns the gone partitions kept (LOG)."""
    result.tables[info.name] = info
    if created:
        result.tables_created.append(info.name)
    values = {p.value for p in info.partitions}
    if values - known:
        result.partitions_added[info.name] = sorted(values - known)
    gone = sorted(known - values)
    keep_gone = delete_behavior == "LOG"
    if gone and keep_gone:
        result.skipped[f"{info.name} partitions {', '.join(gone)}"] = (
            "no longer in the lake; kept (DeleteBehavior LOG)"
        )
    elif gone:
        result.partitions_removed[info.name] = gone
    return gone if keep_gone else []


_ROWS_PER_INSERT = 500  # a statement's text stays small for a table of many partitions


def _write_meta(
    con: duckdb.DuckDBPyConnection,
    info: TableInfo,
    partition_keys: tuple[str, ...],
    kept: list[str],
    crawled_at: datetime,
    symlink: bool = False,
) -> None:
    """Replace the table's rows in the metadata tables (keeping the ``kept`` partitions' rows)."""
    for meta in ("tables", "columns"):
        con.execute(f"DELETE FROM {META_SCHEMA}.{meta} WHERE table_name = ?", [info.name])
    con.execute(
        f"DELETE FROM {META_SCHEMA}.partitions WHERE table_name = ? AND NOT list_contains(?, {PARTITION_KEY})",
        [info.name, kept],
    )
    _insert_rows(
        con,
        f"{META_SCHEMA}.tables",
        [
            (
                info.name,
                info.location,
                "parquet",
                ",".join(partition_keys),
                len(info.partitions),
                sum(p.files for p in info.partitions),
                sum(p.bytes for p in info.partitions),
                crawled_at,
                SYMLINK_INPUT_FORMAT if symlink else None,
            )
        ],
    )
    _insert_rows(
        con,
        f"{META_SCHEMA}.columns",
        [(info.name, i, c.name, c.glue_type, c.is_partition_key) for i, c in enumerate(info.columns)],
    )
    _insert_rows(
        con,
        f"{META_SCHEMA}.partitions",
        [(info.name, p.value, p.location, p.files, p.bytes) for p in info.partitions],
    )


def _insert_rows(con: duckdb.DuckDBPyConnection, table: str, rows: list[tuple[object, ...]]) -> None:
    """``rows`` into ``table``, ``_ROWS_PER_INSERT`` per statement, as literals: DuckDB binds a statement's
    parameters slowly here (a 15-row ``INSERT``: 6.5-6.8 ms with parameters, 7.8-8.3 ms by ``executemany``, which
    runs one statement per row; under 1 ms as literals), and a crawl writes three sets of rows for each of seven
    tables (docs/performance.md)."""
    for start in range(0, len(rows), _ROWS_PER_INSERT):
        values = ", ".join(
            "(" + ", ".join(map(_literal, row)) + ")" for row in rows[start : start + _ROWS_PER_INSERT]
        )
        con.execute(f"INSERT INTO {table} VALUES {values}")


def _literal(value: object) -> str:
    """A catalog value as a DuckDB literal (names and locations come from the lake's folder names: quoted)."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, datetime) and value.tzinfo is None:  # the catalog's times are naive UTC
        return f"TIMESTAMP {quote_str(value.isoformat(sep=' '))}"
    if isinstance(value, str) and "\x00" not in value:  # a NUL would end DuckDB's literal early
        return quote_str(value)
    raise TypeError(f"no catalog literal for {type(value).__name__} {value!r}")


def crawl_lake(lake: LakeLayout | str | Path, spec: CrawlerSpec | None = None) -> CrawlResult:
    """Crawl the lake with the template's crawler (the default template's only crawler when None)."""
    if spec is None:
        spec = default_crawler_spec()
    layout = LakeLayout.of(lake)
    return crawl(layout.local_root, layout.catalog_file, spec)


def default_crawler_spec(template: str | Path | None = None) -> CrawlerSpec:
    """The crawler of a template file (the repository's template when None), or a CatalogError."""
    path = Path(template) if template is not None else DEFAULT_TEMPLATE
    try:
        return crawler_spec(load_template(path))
    except (TemplateError, CrawlerSpecError) as error:
        raise CatalogError(f"{path}: {error}") from error
