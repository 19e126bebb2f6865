"""Athena locally: the Athena engine v3 (Trino) SQL of ``sql/athena/`` run by DuckDB on the local catalog.

The SQL files are written once, in Trino SQL, for Athena; locally each statement is transpiled with
``sqlglot.transpile(sql, read="trino", write="duckdb")`` and run on the catalog that the local crawler
wrote (``lake/catalog.duckdb``, opened read-only). The views of ``sql/athena/views/`` are created as
temporary views in each session, each after the views it selects from (as the deploy creates them in
Athena), so a query always sees the views as the files define them, and the catalog stays the
crawler's alone.

Where sqlglot's translation keeps the syntax but not the meaning, :func:`athena_semantics` fixes it
in this one place (never by writing DuckDB SQL in the files):

- ``max_by(x, y)`` / ``min_by(x, y)``: Trino returns ``x`` of the row with the greatest ``y`` even
  when that ``x`` is NULL; DuckDB's ``arg_max`` skips rows whose ``x`` is NULL and would return an
  older value. They become ``arg_max_null`` / ``arg_min_null``, which keep Trino's meaning (rows
  with a NULL ``y`` are ignored by both).

Known differences the SQL files avoid rather than translate: integer division (Trino truncates,
DuckDB does not; the files divide ``CAST(... AS DOUBLE)``) and ``format()`` (Java vs. fmt patterns).
"""

from __future__ import annotations

import csv
import functools
import io
import json
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import sqlglot
from sqlglot import exp

from spotify_etl.athena_sql import (
    DEFAULT_SQL_ROOT,
    AthenaSqlError,
    SqlFile,
    read_sql_files,
    views_in_dependency_order,
)
from spotify_etl.aws_twin.catalog_store import connect
from spotify_etl.aws_twin.catalog_types import CatalogError
from spotify_etl.aws_twin.readonly import lock_down, not_a_query, refusal
from spotify_etl.aws_twin.symlink_tables import create_session_views

FORMATS = ("table", "csv", "json")


class QueryError(RuntimeError):
    """A statement could not be transpiled or failed to run; the message names the query."""


class QueryRefused(QueryError):
    """The statement would read outside the lake or write: the session is read-only (readonly.py)."""


@dataclass(frozen=True)
class QueryResult:
    name: str
    columns: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...]

    def as_dicts(self) -> list[dict[str, Any]]:
        return [dict(zip(self.columns, row, strict=True)) for row in self.rows]


@contextmanager
def _as_query_error() -> Iterator[None]:
    """The twin's one error: a malformed file of sql/athena is a QueryError with athena_sql's message."""
    try:
        yield
    except AthenaSqlError as error:
        raise QueryError(str(error)) from error


def load_views(sql_dir: Path | None = None) -> list[SqlFile]:
    """The view files of ``sql/athena/views`` (checked by :mod:`spotify_etl.athena_sql`), each after the
    views it selects from, as a session creates them; a cycle is refused (QueryError)."""
    with _as_query_error():
        views = read_sql_files(sql_dir or DEFAULT_SQL_ROOT, kinds=("view",))
        return views_in_dependency_order(views)


def load_queries(sql_dir: Path | None = None) -> dict[str, SqlFile]:
    """The query files of ``sql/athena/queries`` by name."""
    with _as_query_error():
        return {q.name: q for q in read_sql_files(sql_dir or DEFAULT_SQL_ROOT, kinds=("query",))}


def athena_semantics(node: exp.Expression) -> exp.Expression:
    """The sqlglot transform that keeps Trino's meaning where the plain translation would not (see module doc)."""
    if isinstance(node, exp.ArgMax | exp.ArgMin) and not node.args.get("count"):
        name = "ARG_MAX_NULL" if isinstance(node, exp.ArgMax) else "ARG_MIN_NULL"
        return exp.Anonymous(this=name, expressions=[node.this, node.expression])
    return node


_TRANSLATIONS_KEPT = 256  # distinct SQL texts (the repository holds about 50 views and queries)


def _parse(sql: str) -> list[exp.Expression]:
    try:
        trees = sqlglot.parse(sql, read="trino")
    except sqlglot.errors.ParseError as error:
        raise QueryError(f"not valid Athena (Trino) SQL: {error}") from error
    return [tree for tree in trees if isinstance(tree, exp.Expression)]


def _to_duckdb(trees: list[exp.Expression]) -> list[str]:
    return [tree.transform(athena_semantics).sql(dialect="duckdb", comments=False) for tree in trees]


def transpile(sql: str) -> list[str]:
    """Trino SQL (one or more statements) -> DuckDB SQL statements."""
    return list(_transpiled(sql))


# sqlglot takes about 4 ms per statement; a process runs the same texts again (the views at every session, a
# report's queries): both translations below are pure functions of the text, kept per text. A text that does
# not parse raises, and is not kept.
@functools.lru_cache(maxsize=_TRANSLATIONS_KEPT)
def _transpiled(sql: str) -> tuple[str, ...]:
    return tuple(_to_duckdb(_parse(sql)))


@functools.lru_cache(maxsize=_TRANSLATIONS_KEPT)
def _checked(sql: str, name: str) -> tuple[str | None, tuple[str, ...]]:
    """The refusal of ``sql`` (named ``name``) if a statement is not a query, else its DuckDB statements."""
    trees = _parse(sql)
    refused = not_a_query(trees, name)
    return (refused, ()) if refused else (None, tuple(_to_duckdb(trees)))


def _temp_view(statement: str) -> str:
    return re.sub(
        r"^\s*CREATE\s+(OR\s+REPLACE\s+)?VIEW\b", "CREATE OR REPLACE TEMPORARY VIEW", statement, flags=re.I
    )


def open_session(catalog_path: str | Path, sql_dir: Path | None = None) -> duckdb.DuckDBPyConnection:
    """A read-only session on the catalog with the Athena views defined (as temporary views).

    Once the views exist the session is locked down (:func:`spotify_etl.aws_twin.readonly.lock_down`): it
    reads the catalog's table folders and nothing else, and its settings cannot be changed back.
    """
    con = connect(catalog_path, read_only=True)
    data_folders = create_session_views(
        con
    )  # the manifests as they are now, as a query starting now reads them
    for view in load_views(sql_dir):
        for statement in transpile(view.sql):
            try:
                con.execute(_temp_view(statement))
            except duckdb.Error as error:
                con.close()
                raise QueryError(f"view {view.name} ({view.path}) failed: {error}") from error
    lock_down(con, data_folders)
    return con


def run_sql(con: duckdb.DuckDBPyConnection, sql: str, name: str = "query") -> QueryResult:
    """Run Athena SQL in a session; the result of the last statement is returned.

    Raises:
        QueryRefused: a statement is not a query, or reads a file outside the lake's tables.
        QueryError: the SQL does not parse or fails.
    """
    refused, statements = _checked(sql, name)
    if refused:
        raise QueryRefused(refused)
    if not statements:
        raise QueryError(f"{name}: no SQL statement")
    cursor = None
    for statement in statements:
        try:
            cursor = con.execute(statement)
        except duckdb.PermissionException as error:
            raise QueryRefused(refusal(error, name)) from error
        except duckdb.Error as error:
            raise QueryError(
                f"{name} failed on the local catalog: {error}\n  transpiled SQL: {statement}"
            ) from error
    assert cursor is not None
    columns = tuple(d[0] for d in cursor.description or ())
    rows = tuple(tuple(row) for row in cursor.fetchall()) if columns else ()
    return QueryResult(name, columns, rows)


def run_query(
    catalog_path: str | Path, sql: str, name: str = "query", sql_dir: Path | None = None
) -> QueryResult:
    """Open a session, run one piece of Athena SQL, close."""
    con = open_session(catalog_path, sql_dir)
    try:
        return run_sql(con, sql, name)
    finally:
        con.close()


def run_named_queries(
    catalog_path: str | Path, names: Sequence[str] | None = None, sql_dir: Path | None = None
) -> dict[str, QueryResult]:
    """Run the named queries of ``sql/athena/queries`` (all of them by default) in one session."""
    queries = load_queries(sql_dir)
    wanted = list(names) if names is not None else sorted(queries)
    unknown = [n for n in wanted if n not in queries]
    if unknown:
        raise QueryError(f"unknown query {', '.join(unknown)}; known: {', '.join(sorted(queries))}")
    con = open_session(catalog_path, sql_dir)
    try:
        return {n: run_sql(con, queries[n].sql, n) for n in wanted}
    finally:
        con.close()


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4g}" if abs(value) < 1e6 else f"{value:.0f}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_cell(v) for v in value) + "]"
    return str(value)


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return value


def format_result(result: QueryResult, fmt: str = "table", max_rows: int | None = None) -> str:
    """Render a result as an aligned text table, CSV or JSON (one object per row, in a list)."""
    if fmt not in FORMATS:
        raise ValueError(f"format {fmt!r} is not one of {', '.join(FORMATS)}")
    rows = result.rows if max_rows is None else result.rows[:max_rows]
    if fmt == "json":
        return json.dumps([_jsonable(dict(zip(result.columns, r, strict=True))) for r in rows], indent=1)
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(result.columns)
        writer.writerows([[_cell(v) for v in r] for r in rows])
        return buffer.getvalue().rstrip("\n")
    cells = [[_cell(v) for v in r] for r in rows]
    widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(result.columns)]
    line = "+" + "+".join("-" * (w + 2) for w in widths) + "+"
    out = [
        line,
        "| " + " | ".join(c.ljust(w) for c, w in zip(result.columns, widths, strict=True)) + " |",
        line,
    ]
    for r in cells:
        out.append("| " + " | ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)) + " |")
    out.append(line)
    shown = f"{len(rows)} of {len(result.rows)} rows" if len(rows) < len(result.rows) else f"{len(rows)} rows"
    out.append(f"({shown})")
    return "\n".join(out)


__all__ = [
    "FORMATS",
    "CatalogError",
    "QueryError",
    "QueryRefused",
    "QueryResult",
    "SqlFile",
    "athena_semantics",
    "format_result",
    "load_queries",
    "load_views",
    "open_session",
    "run_named_queries",
    "run_query",
    "run_sql",
    "transpile",
]
