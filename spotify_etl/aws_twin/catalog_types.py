"""Type strings between the two catalogs: DuckDB types read from Parquet footers <-> Glue/Hive types.

Glue types are Hive DDL strings (https://docs.aws.amazon.com/athena/latest/ug/data-types.html).
"""

from __future__ import annotations


class CatalogError(RuntimeError):
    """The lake cannot be crawled, or the catalog cannot be opened."""


def quote_ident(name: str) -> str:
    """A DuckDB identifier for a catalog name."""
    return '"' + name.replace('"', '""') + '"'


def quote_str(text: str) -> str:
    """A DuckDB string literal."""
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
        if ch in "([<":
            depth += 1
        elif ch in ")]>":
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


_TO_DUCKDB = {
    "string": "VARCHAR",
    "bigint": "BIGINT",
    "int": "INTEGER",
    "smallint": "SMALLINT",
    "tinyint": "TINYINT",
    "boolean": "BOOLEAN",
    "double": "DOUBLE",
    "float": "FLOAT",
    "date": "DATE",
    "timestamp": "TIMESTAMP",
    "binary": "BLOB",
}


def duckdb_type(glue: str) -> str:
    """The DuckDB type that reads a column the catalog declares as ``glue`` (Athena's reading of it)."""
    t = glue.strip().lower()
    if t.startswith("array<") and t.endswith(">"):
        return f"{duckdb_type(t[6:-1])}[]"
    if t.startswith("map<") and t.endswith(">"):
        key, value = _split_top_level(t[4:-1])
        return f"MAP({duckdb_type(key)}, {duckdb_type(value)})"
    if t.startswith("struct<") and t.endswith(">"):
        fields = [part.split(":", 1) for part in _split_top_level(t[7:-1])]
        return "STRUCT(" + ", ".join(f'"{n}" {duckdb_type(ty)}' for n, ty in fields) + ")"
    if t.startswith("decimal"):
        return t.upper()
    if t not in _TO_DUCKDB:
        raise CatalogError(f"no DuckDB type for Glue type {glue!r}")
    return _TO_DUCKDB[t]
