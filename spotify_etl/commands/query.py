"""``spotify-etl query``: Athena (Trino) SQL run locally on the lake's catalog.

``spotify-etl query "SELECT ..."`` or ``spotify-etl query --name NAME`` (a file of
``sql/athena/queries``); ``--list`` shows the named queries and the question each answers. The SQL is
transpiled by sqlglot from Trino to DuckDB; the views of ``sql/athena/views`` are available.

The session is read-only (:mod:`spotify_etl.aws_twin.readonly`): it reads the catalog's tables and nothing
else, and runs queries only (no ``COPY``, ``INSERT``, ``CREATE``, ``SET``, ``ATTACH`` ...).

Exit codes: 0 the result was printed; 1 the query failed (the message names it); 2 usage (no SQL, unknown
``--name``); 3 refused by the read-only session (a write, or a file outside the lake's tables).
"""

from __future__ import annotations

import argparse
import os
import sys

from spotify_etl.aws_twin.athena import (
    FORMATS,
    QueryError,
    QueryRefused,
    format_result,
    load_queries,
    run_query,
    transpile,
)
from spotify_etl.aws_twin.crawler import CatalogError
from spotify_etl.commands.lake_argument import add_lake_argument

EXIT_REFUSED = 3


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("sql", nargs="?", help="Athena (Trino) SQL to run")
    parser.add_argument("--name", help="run the named query sql/athena/queries/NAME.sql")
    parser.add_argument("--list", action="store_true", help="list the named queries")
    add_lake_argument(parser, "the catalog LAKE/catalog.duckdb is queried")
    parser.add_argument("--format", choices=FORMATS, default="table", help="output format (default: table)")
    parser.add_argument("--max-rows", type=int, default=None, help="print at most this many rows (table)")
    parser.add_argument("--show-sql", action="store_true", help="print the DuckDB SQL it was transpiled to")


def run(args: argparse.Namespace) -> int:
    try:
        queries = load_queries()
        if args.list:
            for name, query in sorted(queries.items()):
                print(f"{name:<28} {query.question}")
            return 0
        if bool(args.sql) == bool(args.name):
            print("spotify-etl query: give either SQL or --name NAME (see --list)", file=sys.stderr)
            return 2
        if args.name:
            if args.name not in queries:
                print(
                    f"spotify-etl query: no query named {args.name!r}; known: {', '.join(sorted(queries))}",
                    file=sys.stderr,
                )
                return 2
            sql, name = queries[args.name].sql, args.name
        else:
            sql, name = args.sql, "query"
        if args.show_sql:
            for statement in transpile(sql):
                print(f"-- DuckDB:\n{statement};", file=sys.stderr)
        result = run_query(args.lake.catalog_file, sql, name)
    except QueryRefused as error:
        print(f"spotify-etl query: {error}", file=sys.stderr)
        return EXIT_REFUSED
    except (QueryError, CatalogError) as error:
        print(f"spotify-etl query: {error}", file=sys.stderr)
        return 1
    try:
        print(format_result(result, args.format, max_rows=args.max_rows), flush=True)
    except BrokenPipeError:  # `spotify-etl query ... | head`: the reader has what it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0
