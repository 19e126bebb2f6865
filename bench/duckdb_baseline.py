"""The yardstick: the six curated tables built by a single-node DuckDB script from the same raw objects.

This is what a user would otherwise pick instead of Spark on Glue: one process, one SQL engine, no
cluster. It builds the same six tables as the transform (docs/design.md s.3: same columns, same types, same
merge rule) from the raw landing zone (docs/design.md s.2), as a full rebuild, and writes them as Hive-style
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

# The merge rule, as one ORDER BY per table: the greatest observation wins (extracted_at, source_file);
# inside one observation (a track listed twice), the smallest row content wins, as in the transform.
_OBS_ORDER = "extracted_at DESC, source_file DESC"

# The non-null ids of a list of simple objects, in order (as the transform's artist_ids).
_IDS = "list_filter(list_transform({0}, x -> x.id), i -> i IS NOT NULL)"

# The first day a release date stands for; the precision decides, else the string's length.
_RELEASE_DATE = """
    CASE coalesce(a.release_date_precision,
                  CASE length(a.release_date) WHEN 4 THEN 'year' WHEN 7 THEN 'month' WHEN 10 THEN 'day' END)
        WHEN 'year' THEN CASE WHEN regexp_full_match(a.release_date, '\\d{4}') AND a.release_date <> '0000'
                              THEN try_cast(a.release_date || '-01-01' AS DATE) END
        WHEN 'month' THEN CASE WHEN regexp_full_match(a.release_date, '\\d{4}-\\d{2}') AND a.release_date[1:4] <> '0000'
                               THEN try_cast(a.release_date || '-01' AS DATE) END
        WHEN 'day' THEN CASE WHEN regexp_full_match(a.release_date, '\\d{4}-\\d{2}-\\d{2}') AND a.release_date[1:4] <> '0000'
                             THEN try_cast(a.release_date AS DATE) END
    END"""

SQL: dict[str, str] = {
    # One parsed, validated observation per raw object (the transform's OBSERVATION).
    "observations": """
        CREATE TEMP TABLE observations AS
        SELECT
            'file://' || filename AS source_file,
            CAST(strptime(extracted_at, '%Y-%m-%dT%H:%M:%SZ') AS TIMESTAMPTZ) AS extracted_at,
            strftime(strptime(extracted_at, '%Y-%m-%dT%H:%M:%SZ'), '%Y-%m-%d') AS snapshot_date,
            playlist, items, artists
        FROM raw
        WHERE schema_version = 1
          AND playlist.id IS NOT NULL AND trim(playlist.id) <> ''
          AND try_strptime(extracted_at, '%Y-%m-%dT%H:%M:%SZ') IS NOT NULL
          AND items IS NOT NULL
    """,
    # Every item of every observation at its position; the playable object (item, else track) is kept
    # only for the tracks that feed tracks/albums/artists/track_artists (type track, non-null id).
    "items": """
        CREATE TEMP TABLE items AS
        WITH exploded AS (
            SELECT source_file, extracted_at, snapshot_date, playlist.id AS playlist_id,
                   playlist.snapshot_id AS snapshot_id,
                   CAST(generate_subscripts(items, 1) - 1 AS INTEGER) AS position,
                   unnest(items) AS it
            FROM observations
        ),
        typed AS (
            SELECT *, coalesce(it.item, it.track) AS p FROM exploded
        ),
        kinds AS (
            SELECT *,
                CASE
                    WHEN coalesce(it.is_local, false) OR coalesce(p.is_local, false) THEN 'local'
                    WHEN p IS NULL THEN 'unavailable'
                    WHEN p.type = 'episode' THEN 'episode'
                    ELSE 'track'
                END AS item_type
            FROM typed
        )
        SELECT source_file, extracted_at, snapshot_date, playlist_id, snapshot_id, position, item_type,
               CASE WHEN item_type <> 'local' THEN p.id END AS item_id,
               p.uri AS item_uri,
               CAST(try_strptime(it.added_at, '%Y-%m-%dT%H:%M:%SZ') AS TIMESTAMPTZ) AS added_at,
               it.added_by.id AS added_by_id,
               CASE WHEN item_type = 'track' AND p.id IS NOT NULL THEN p END AS tp
        FROM kinds
    """,
    "track_items": """
        CREATE TEMP TABLE track_items AS
        SELECT source_file, extracted_at, snapshot_date, tp AS p FROM items WHERE tp IS NOT NULL
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
            playlist_id, snapshot_id, position, item_type, item_id, item_uri,
            CASE WHEN item_type = 'track' THEN item_id END AS track_id,
            added_at, added_by_id,
            extracted_at, source_file, snapshot_date
        FROM items
        SEMI JOIN latest USING (source_file)
    """,
    "tracks": f"""
        WITH rows AS (
            SELECT
                p.id AS track_id,
                p.name AS track_name,
                p.album.id AS album_id,
                {_IDS.format("p.artists")} AS artist_ids,
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
        )
        SELECT * FROM rows
        QUALIFY row_number() OVER (
            PARTITION BY track_id, snapshot_date
            ORDER BY {_OBS_ORDER}, track_name, album_id, artist_ids, duration_ms, is_explicit, isrc,
                     popularity, disc_number, track_number, track_uri, preview_url) = 1
    """,
    "albums": f"""
        WITH albums AS (
            SELECT p.album AS a,
                   list_filter(p.album.images, i -> i.url IS NOT NULL) AS imgs,
                   extracted_at, source_file, snapshot_date
            FROM track_items
            WHERE p.album.id IS NOT NULL
        ),
        rows AS (
            SELECT
                a.id AS album_id,
                a.name AS album_name,
                a.album_type AS album_type,
                {_RELEASE_DATE} AS release_date,
                a.release_date AS release_date_raw,
                a.release_date_precision AS release_date_precision,
                CAST(a.total_tracks AS INTEGER) AS total_tracks,
                {_IDS.format("a.artists")} AS artist_ids,
                coalesce(
                    list_min(list_transform(
                        list_filter(imgs, i -> i.width = list_max(list_transform(imgs, j -> j.width))),
                        i -> i.url)),
                    list_min(list_transform(imgs, i -> i.url))) AS image_url,
                extracted_at, source_file, snapshot_date
            FROM albums
        )
        SELECT * FROM rows
        QUALIFY row_number() OVER (
            PARTITION BY album_id, snapshot_date
            ORDER BY {_OBS_ORDER}, album_name, album_type, release_date, release_date_raw,
                     release_date_precision, total_tracks, artist_ids, image_url) = 1
    """,
    "track_artists": f"""
        WITH credits AS (
            SELECT p.id AS track_id, {_IDS.format("p.artists")} AS ids, extracted_at, source_file, snapshot_date
            FROM track_items
        ),
        rows AS (
            SELECT track_id, unnest(ids) AS artist_id,
                   CAST(generate_subscripts(ids, 1) - 1 AS INTEGER) AS artist_position,
                   extracted_at, source_file, snapshot_date
            FROM credits
        )
        SELECT track_id, artist_id, artist_position, extracted_at, source_file, snapshot_date
        FROM rows
        QUALIFY row_number() OVER (
            PARTITION BY track_id, artist_id, snapshot_date ORDER BY {_OBS_ORDER}, artist_position) = 1
    """,
    "artists": f"""
        WITH simple AS (
            SELECT unnest(list_concat(coalesce(p.artists, []), coalesce(p.album.artists, []))) AS a,
                   extracted_at, source_file, snapshot_date
            FROM track_items
        ),
        full_objs AS (
            SELECT unnest(artists) AS a, extracted_at, source_file, snapshot_date
            FROM observations
        ),
        candidates AS (
            SELECT a.id AS artist_id, a.name AS artist_name, a.uri AS artist_uri,
                   coalesce(a.genres, []::VARCHAR[]) AS genres, a.popularity AS popularity,
                   a.followers.total AS followers, extracted_at, source_file, snapshot_date, 1 AS enriched
            FROM full_objs
            WHERE a.id IS NOT NULL
            UNION ALL
            SELECT a.id, a.name, a.uri, NULL::VARCHAR[], NULL::BIGINT, NULL::BIGINT,
                   extracted_at, source_file, snapshot_date, 0 AS enriched
            FROM simple
            WHERE a.id IS NOT NULL
        )
        SELECT artist_id, artist_name, artist_uri, genres, popularity, followers,
               extracted_at, source_file, snapshot_date
        FROM candidates
        QUALIFY row_number() OVER (
            PARTITION BY artist_id, snapshot_date
            ORDER BY enriched DESC, {_OBS_ORDER}, artist_name, artist_uri, genres, popularity, followers) = 1
    """,
}

# The intermediate views, then the tables: every other key of SQL is one curated table. The yardstick imports no
# product code (its run is timed, process start included); tests/unit/transform/test_registry.py checks that TABLES is
# exactly spotify_etl/transform/registry.py's tables.
STEPS: tuple[str, ...] = ("observations", "items", "track_items")
TABLES: tuple[str, ...] = tuple(name for name in SQL if name not in STEPS)


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
    # Spark's order: ascending puts nulls first, descending last (the in-observation tie-break compares rows).
    con.execute("SET default_null_order = 'nulls_first_on_asc_last_on_desc'")
    columns = ", ".join(f"{_literal(name)}: {_literal(dtype)}" for name, dtype in ENVELOPE_COLUMNS.items())
    con.execute(
        f"CREATE TEMP VIEW raw AS SELECT * FROM read_json({_literal(pattern)}, format = 'newline_delimited', "
        f"columns = {{{columns}}}, filename = true, hive_partitioning = false, "
        "maximum_object_size = 268435456)"
    )
    objects_read = con.execute("SELECT count(*) FROM raw").fetchone()[0]  # type: ignore[index]
    for step in STEPS:
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
