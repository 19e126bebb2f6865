"""Compare two curated trees (the transform's and the DuckDB yardstick's) row by row, with DuckDB."""

from __future__ import annotations

from pathlib import Path

import duckdb

from spotify_etl.transform.registry import CURATED_TABLES


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _select(con: duckdb.DuckDBPyConnection, root: Path, table: str, columns: list[str] | None) -> str:
    pattern = _literal(str(root / table / "**" / "*.parquet"))
    source = f"read_parquet({pattern}, hive_partitioning = true, hive_types = {{'snapshot_date': VARCHAR}})"
    if columns is None:
        return source
    return f"(SELECT {', '.join(columns)} FROM {source})"


def compare_outputs(left: Path, right: Path) -> dict[str, dict[str, int]]:
    """Rows only in ``left`` and only in ``right``, per table (multiset difference, all columns).

    ``source_file`` is compared by its key under the raw root, so that two lakes holding copies of the same
    raw objects compare equal.
    """
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    result: dict[str, dict[str, int]] = {}
    for table in CURATED_TABLES:
        columns = [
            row[0]
            for row in con.execute(f"DESCRIBE SELECT * FROM {_select(con, left, table, None)}").fetchall()
        ]
        # The two trees were built from copies of the same objects in different lakes: compare the key.
        quoted = [
            "regexp_replace(source_file, '^.*/raw/', '') AS source_file" if c == "source_file" else f'"{c}"'
            for c in columns
        ]
        a, b = _select(con, left, table, quoted), _select(con, right, table, quoted)
        only_left = con.execute(
            f"SELECT count(*) FROM (SELECT * FROM {a} EXCEPT ALL SELECT * FROM {b})"
        ).fetchone()
        only_right = con.execute(
            f"SELECT count(*) FROM (SELECT * FROM {b} EXCEPT ALL SELECT * FROM {a})"
        ).fetchone()
        result[table] = {
            "only_spark": int(only_left[0]) if only_left else -1,
            "only_duckdb": int(only_right[0]) if only_right else -1,
        }
    con.close()
    return result
