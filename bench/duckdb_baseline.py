"""The yardstick: the six curated tables built by a single-node DuckDB script from the same raw objects.

This is what a user would otherwise pick instead of Spark on Glue: one process, one SQL engine, no
cluster. It builds the same six tables as the transform (DESIGN.md s.3: same columns, same types, same
merge rule) from the raw landing zone (DESIGN.md s.2), as a full rebuild, and writes them as Hive-style
Parquet partitions. The product never imports this module; ``make bench`` times it (process start
included) to put the Spark figures in proportion, and ``tests/bench`` uses it to cross-check the
transform's rows.

What it does not do, on purpose: incremental runs and bookmarks (it always rebuilds everything), and
the quarantine (objects that fail the envelope checks are dropped and counted, not recorded). Objects
that are not gzip or not JSON make DuckDB's reader fail: the benchmark data has none.

Usage::

    python bench/duckdb_baseline.py --raw LAKE/raw --out OUT_DIR [--threads N]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import duckdb

TABLES: tuple[str, ...] = (
    "playlist_snapshots",
    "playlist_items",
    "tracks",
    "albums",
    "artists",
    "track_artists",
)

_SIMPLE_ARTIST = "STRUCT(id VARCHAR, name VARCHAR, uri VARCHAR)"
_IMAGE = "STRUCT(url VARCHAR, width BIGINT, height BIGINT)"
_ALBUM = (
    "STRUCT(id VARCHAR, name VARCHAR, album_type VARCHAR, release_date VARCHAR, "
    f"release_date_precision VARCHAR, total_tracks BIGINT, images {_IMAGE}[], artists {_SIMPLE_ARTIST}[], "
    "uri VARCHAR)"
)
_PLAYABLE = (
    "STRUCT(id VARCHAR, type VARCHAR, name VARCHAR, uri VARCHAR, duration_ms BIGINT, explicit BOOLEAN, "
    "popularity BIGINT, disc_number BIGINT, track_number BIGINT, preview_url VARCHAR, is_local BOOLEAN, "
    f"external_ids STRUCT(isrc VARCHAR), album {_ALBUM}, artists {_SIMPLE_ARTIST}[])"
)
# The envelope's fields that the tables use; DuckDB ignores the others (as Spark's JSON reader does).
ENVELOPE_COLUMNS: dict[str, str] = {
    "schema_version": "BIGINT",
    "extracted_at": "VARCHAR",
    "market": "VARCHAR",
    "playlist": (
        "STRUCT(id VARCHAR, snapshot_id VARCHAR, name VARCHAR, description VARCHAR, "
        "owner STRUCT(id VARCHAR, display_name VARCHAR), followers STRUCT(total BIGINT), "
        "public BOOLEAN, collaborative BOOLEAN)"
    ),
    "items": (
        f"STRUCT(added_at VARCHAR, added_by STRUCT(id VARCHAR), is_local BOOLEAN, item {_PLAYABLE}, "
        f"track {_PLAYABLE})[]"
    ),
    "artists": (
        "STRUCT(id VARCHAR, name VARCHAR, uri VARCHAR, genres VARCHAR[], popularity BIGINT, "
        "followers STRUCT(total BIGINT))[]"
    ),
}

# The merge rule, as one ORDER BY per table: the greatest observation wins (extracted_at, source_file).
_OBS_ORDER = "extracted_at DESC, source_file DESC"

SQL: dict[str, str] = {
    # One parsed, validated observation per raw object (the transform's OBSERVATION).
    "observations": """
        CREATE TEMP TABLE observations AS
        SELECT
            'file://' || filename AS source_file,
            CAST(strptime(extracted_at, '%Y-%m-%dT%H:%M:%SZ') AS TIMESTAMPTZ) AS extracted_at,
            strftime(strptime(extracted_at, '%Y-%m-%dT%H:%M:%SZ'), '%Y-%m-%d') AS snapshot_date,
            market, playlist, items, artists
        FROM raw
        WHERE schema_version = 1
          AND playlist.id IS NOT NULL AND playlist.id <> ''
          AND try_strptime(extracted_at, '%Y-%m-%dT%H:%M:%SZ') IS NOT NULL
          AND items IS NOT NULL
    """,
    # Every item of every observation, with its position and the playable object (item, else track).
    "items": """
        CREATE TEMP TABLE items AS
        SELECT
            o.source_file, o.extracted_at, o.snapshot_date, o.playlist.id AS playlist_id,
            o.playlist.snapshot_id AS snapshot_id,
            CAST(u.pos - 1 AS INTEGER) AS position,
            u.it AS it,
            coalesce(u.it.item, u.it.track) AS p
        FROM observations o,
             LATERAL (SELECT unnest(o.items) AS it, generate_subscripts(o.items, 1) AS pos) u
    """,
    "typed_items": """
        CREATE TEMP TABLE typed_items AS
        SELECT *,
            CASE
                WHEN coalesce(it.is_local, false) OR coalesce(p.is_local, false) THEN 'local'
                WHEN p IS NULL THEN 'unavailable'
                WHEN p.type = 'episode' THEN 'episode'
                ELSE 'track'
            END AS item_type
        FROM items
    """,
    # Tracks that feed tracks/albums/artists/track_artists: a non-null id, type track.
    "track_items": """
        CREATE TEMP TABLE track_items AS
        SELECT * FROM typed_items WHERE item_type = 'track' AND p.id IS NOT NULL
    """,
    "playlist_snapshots": f"""
        SELECT
            playlist.id AS playlist_id,
            playlist.snapshot_id AS snapshot_id,
            playlist.name AS playlist_name,
            playlist.description AS description,
            playlist.owner.id AS owner_id,
            playlist.owner.display_name AS owner_display_name,
            playlist.followers.total AS followers,
            playlist.public AS is_public,
            playlist.collaborative AS is_collaborative,
            CAST(len(items) AS INTEGER) AS item_count,
            extracted_at, source_file, snapshot_date
        FROM observations
        QUALIFY row_number() OVER (PARTITION BY playlist.id, snapshot_date ORDER BY {_OBS_ORDER}) = 1
    """,
    "playlist_items": f"""
        WITH latest AS (
            SELECT source_file FROM observations
            QUALIFY row_number() OVER (PARTITION BY playlist.id, snapshot_date ORDER BY {_OBS_ORDER}) = 1
        )
        SELECT
            playlist_id, snapshot_id, position, item_type,
            CASE WHEN item_type IN ('local', 'unavailable') THEN NULL ELSE p.id END AS item_id,
            p.uri AS item_uri,
            CASE WHEN item_type = 'track' THEN p.id END AS track_id,
            CAST(try_strptime(it.added_at, '%Y-%m-%dT%H:%M:%SZ') AS TIMESTAMPTZ) AS added_at,
            it.added_by.id AS added_by_id,
            extracted_at, source_file, snapshot_date
        FROM typed_items
        WHERE source_file IN (SELECT source_file FROM latest)
    """,
    "tracks": f"""
        SELECT
            p.id AS track_id,
            p.name AS track_name,
            p.album.id AS album_id,
            list_transform(p.artists, a -> a.id) AS artist_ids,
            p.duration_ms AS duration_ms,
            p.explicit AS is_explicit,
            p.external_ids.isrc AS isrc,
            p.popularity AS popularity,
            CAST(p.disc_number AS INTEGER) AS disc_number,
            CAST(p.track_number AS INTEGER) AS track_number,
            p.uri AS track_uri,
            p.preview_url AS preview_url,
            extracted_at, source_file, snapshot_date
        FROM track_items
        QUALIFY row_number() OVER (PARTITION BY p.id, snapshot_date ORDER BY {_OBS_ORDER}, position) = 1
    """,
    "albums": f"""
        SELECT
            p.album.id AS album_id,
            p.album.name AS album_name,
            p.album.album_type AS album_type,
            CASE p.album.release_date_precision
                WHEN 'year' THEN try_cast(p.album.release_date || '-01-01' AS DATE)
                WHEN 'month' THEN try_cast(p.album.release_date || '-01' AS DATE)
                ELSE try_cast(p.album.release_date AS DATE)
            END AS release_date,
            p.album.release_date AS release_date_raw,
            p.album.release_date_precision AS release_date_precision,
            CAST(p.album.total_tracks AS INTEGER) AS total_tracks,
            list_transform(p.album.artists, a -> a.id) AS artist_ids,
            (list_sort(
                list_transform(list_filter(p.album.images, i -> i.url IS NOT NULL),
                               i -> {{'w': coalesce(i.width, -1), 'u': i.url}}),
                'DESC'))[1].u AS image_url,
            extracted_at, source_file, snapshot_date
        FROM track_items
        WHERE p.album.id IS NOT NULL
        QUALIFY row_number() OVER (PARTITION BY p.album.id, snapshot_date ORDER BY {_OBS_ORDER}, position) = 1
    """,
    "track_artists": f"""
        WITH credits AS (
            SELECT p.id AS track_id, a.artist.id AS artist_id, CAST(a.pos - 1 AS INTEGER) AS artist_position,
                   extracted_at, source_file, snapshot_date, position
            FROM track_items,
                 LATERAL (SELECT unnest(p.artists) AS artist, generate_subscripts(p.artists, 1) AS pos) a
        )
        SELECT track_id, artist_id, artist_position, extracted_at, source_file, snapshot_date
        FROM credits
        WHERE artist_id IS NOT NULL
        QUALIFY row_number() OVER (
            PARTITION BY track_id, artist_id, snapshot_date ORDER BY {_OBS_ORDER}, position, artist_position) = 1
    """,
    "artists": f"""
        WITH simple AS (
            SELECT a.id AS artist_id, a.name AS artist_name, a.uri AS artist_uri,
                   extracted_at, source_file, snapshot_date
            FROM (
                SELECT unnest(p.artists) AS a, extracted_at, source_file, snapshot_date FROM track_items
                UNION ALL
                SELECT unnest(p.album.artists) AS a, extracted_at, source_file, snapshot_date FROM track_items
            )
            WHERE a.id IS NOT NULL
        ),
        full_objs AS (
            SELECT a.id AS artist_id, a.name AS artist_name, a.uri AS artist_uri, a.genres AS genres,
                   a.popularity AS popularity, a.followers.total AS followers,
                   extracted_at, source_file, snapshot_date
            FROM (SELECT unnest(artists) AS a, extracted_at, source_file, snapshot_date FROM observations)
            WHERE a.id IS NOT NULL
        ),
        candidates AS (
            SELECT artist_id, artist_name, artist_uri, genres, popularity, followers,
                   extracted_at, source_file, snapshot_date, 1 AS enriched
            FROM full_objs
            UNION ALL
            SELECT artist_id, artist_name, artist_uri, NULL::VARCHAR[], NULL::BIGINT, NULL::BIGINT,
                   extracted_at, source_file, snapshot_date, 0 AS enriched
            FROM simple
            WHERE (artist_id, source_file) NOT IN (SELECT artist_id, source_file FROM full_objs)
        )
        SELECT artist_id, artist_name, artist_uri, genres, popularity, followers,
               extracted_at, source_file, snapshot_date
        FROM candidates
        QUALIFY row_number() OVER (
            PARTITION BY artist_id, snapshot_date
            ORDER BY enriched DESC, {_OBS_ORDER}, artist_name, artist_uri) = 1
    """,
}


def _literal(text: str) -> str:
    """A SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def build(raw_root: Path, out_dir: Path, threads: int | None = None) -> dict[str, Any]:
    """Build the six tables from ``raw_root/playlists/**.json.gz`` into ``out_dir/<table>/snapshot_date=...``.

    Returns:
        A summary: objects read and kept, rows per table, seconds.
    """
    started = time.perf_counter()
    pattern = str(raw_root.resolve() / "playlists" / "**" / "*.json.gz")
    con = duckdb.connect()
    if threads:
        con.execute(f"SET threads = {int(threads)}")
    con.execute("SET preserve_insertion_order = false")
    # Timestamps are UTC instants, written as Parquet TIMESTAMP_MICROS adjusted to UTC, as Spark writes them.
    con.execute("SET TimeZone = 'UTC'")
    columns = ", ".join(f"{_literal(name)}: {_literal(dtype)}" for name, dtype in ENVELOPE_COLUMNS.items())
    con.execute(
        f"CREATE TEMP VIEW raw AS SELECT * FROM read_json({_literal(pattern)}, format = 'newline_delimited', "
        f"columns = {{{columns}}}, filename = true, hive_partitioning = false, "
        "maximum_object_size = 268435456)"
    )
    objects_read = con.execute("SELECT count(*) FROM raw").fetchone()[0]  # type: ignore[index]
    for step in ("observations", "items", "typed_items", "track_items"):
        con.execute(SQL[step])
    objects_kept = con.execute("SELECT count(*) FROM observations").fetchone()[0]  # type: ignore[index]
    out_dir.mkdir(parents=True, exist_ok=True)
    rows: dict[str, int] = {}
    for table in TABLES:
        target = out_dir / table
        con.execute(f"CREATE TEMP TABLE out_{table} AS {SQL[table]}")
        rows[table] = con.execute(f"SELECT count(*) FROM out_{table}").fetchone()[0]  # type: ignore[index]
        con.execute(
            f"COPY out_{table} TO {_literal(str(target))} "
            "(FORMAT parquet, COMPRESSION snappy, PARTITION_BY (snapshot_date), OVERWRITE_OR_IGNORE)"
        )
    con.close()
    return {
        "objects_read": objects_read,
        "objects_kept": objects_kept,
        "rows": rows,
        "seconds": time.perf_counter() - started,
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--raw", required=True, type=Path, help="raw root (holds playlists/...)")
    parser.add_argument("--out", required=True, type=Path, help="output directory for the six tables")
    parser.add_argument("--threads", type=int, default=None, help="DuckDB threads (default: all cores)")
    args = parser.parse_args(argv)
    summary = build(args.raw, args.out, args.threads)
    print(json.dumps(summary, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
