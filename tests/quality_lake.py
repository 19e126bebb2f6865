"""A small, clean curated lake for the data quality tests, written as Parquet by DuckDB (no Spark).

Every rule of ``quality/*.dqdl`` passes on :func:`clean_rows`; a test changes a few rows to break one
rule and writes the lake with :func:`write_lake`. The columns and their types are the curated schemas
(``TABLE_SCHEMAS``), so Spark reads these files with those schemas exactly as it reads the job's output.

Story: playlist P on two days, three items each (two tracks, one local file); tracks T1 (artist A1) and
T2 (artists A1, A2) on album L1.
"""

from __future__ import annotations

import copy
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import duckdb

from spotify_etl.quality.duckdb_lake import duckdb_type
from spotify_etl.transform.registry import TABLE_SCHEMAS
from tests.builders import spotify_id

P, T1, T2, L1, A1, A2 = (spotify_id(s) for s in ("p", "t1", "t2", "l1", "a1", "a2"))
DAYS = ("2026-11-01", "2026-11-02")
CLOCK = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)  # "now" of the evaluations: day 2 is fresh


def _source(day: str) -> str:
    return f"file:///lake/raw/playlists/ingest_date={day}/playlist_id={P}/{day.replace('-', '')}T030000Z-a.json.gz"


def _provenance(day: str) -> dict[str, Any]:
    return {
        "extracted_at": datetime.fromisoformat(f"{day}T03:00:00+00:00"),
        "source_file": _source(day),
        "snapshot_date": day,
    }


def _day_rows(day: str) -> dict[str, list[dict[str, Any]]]:
    prov = _provenance(day)
    items = [
        {
            "playlist_id": P,
            "snapshot_id": f"s{day}",
            "position": 0,
            "item_type": "track",
            "item_id": T1,
            "item_uri": f"spotify:track:{T1}",
            "track_id": T1,
            "added_at": None,
            "added_by_id": "u1",
            **prov,
        },
        {
            "playlist_id": P,
            "snapshot_id": f"s{day}",
            "position": 1,
            "item_type": "local",
            "item_id": None,
            "item_uri": "spotify:local:x",
            "track_id": None,
            "added_at": None,
            "added_by_id": "u1",
            **prov,
        },
        {
            "playlist_id": P,
            "snapshot_id": f"s{day}",
            "position": 2,
            "item_type": "track",
            "item_id": T2,
            "item_uri": f"spotify:track:{T2}",
            "track_id": T2,
            "added_at": None,
            "added_by_id": None,
            **prov,
        },
    ]
    tracks = [
        {
            "track_id": t,
            "track_name": name,
            "album_id": L1,
            "artist_ids": artists,
            "duration_ms": 200_000,
            "is_explicit": False,
            "isrc": "USRC17607839",
            "popularity": pop,
            "disc_number": 1,
            "track_number": n,
            "track_uri": f"spotify:track:{t}",
            "preview_url": None,
            **prov,
        }
        for n, (t, name, artists, pop) in enumerate([(T1, "One", [A1], 0), (T2, "Two", [A1, A2], None)], 1)
    ]
    return {
        "playlist_snapshots": [
            {
                "playlist_id": P,
                "snapshot_id": f"s{day}",
                "playlist_name": "Top",
                "description": None,
                "owner_id": "u1",
                "owner_display_name": None,
                "followers": None,
                "is_public": True,
                "is_collaborative": False,
                "item_count": 3,
                **prov,
            }
        ],
        "playlist_items": items,
        "tracks": tracks,
        "albums": [
            {
                "album_id": L1,
                "album_name": "Album",
                "album_type": "album",
                "release_date": date(1200, 5, 1),
                "release_date_raw": "1200-05-01",
                "release_date_precision": "day",
                "total_tracks": 2,
                "artist_ids": [A1],
                "image_url": None,
                **prov,
            }
        ],
        "artists": [
            {
                "artist_id": a,
                "artist_name": name,
                "artist_uri": f"spotify:artist:{a}",
                "genres": None,
                "popularity": 100,
                "followers": 0,
                **prov,
            }
            for a, name in ((A1, "Artist One"), (A2, "Artist Two"))
        ],
        "track_artists": [
            {"track_id": T1, "artist_id": A1, "artist_position": 0, **prov},
            {"track_id": T2, "artist_id": A1, "artist_position": 0, **prov},
            {"track_id": T2, "artist_id": A2, "artist_position": 1, **prov},
        ],
    }


def clean_rows() -> dict[str, list[dict[str, Any]]]:
    """The rows of each table: two days of one playlist, every rule satisfied."""
    rows: dict[str, list[dict[str, Any]]] = {table: [] for table in TABLE_SCHEMAS}
    for day in DAYS:
        for table, day_rows in _day_rows(day).items():
            rows[table].extend(day_rows)
    return copy.deepcopy(rows)


def write_lake(lake: Path, rows: dict[str, list[dict[str, Any]]]) -> Path:
    """Write ``rows`` as ``lake/curated/<table>/snapshot_date=.../*.parquet``; returns ``lake``."""
    con = duckdb.connect(":memory:")
    con.execute("SET TimeZone = 'UTC'")
    for table, schema in TABLE_SCHEMAS.items():
        names = [field.name for field in schema.fields]
        columns = ", ".join(f'"{f.name}" {duckdb_type(f.dataType)}' for f in schema.fields)
        con.execute(f'CREATE TABLE "{table}" ({columns})')
        if rows[table]:
            marks = ", ".join("?" for _ in names)
            con.executemany(
                f'INSERT INTO "{table}" VALUES ({marks})', [[r[n] for n in names] for r in rows[table]]
            )
        folder = lake / "curated" / table
        folder.mkdir(parents=True, exist_ok=True)
        con.execute(
            f"COPY \"{table}\" TO '{folder}' (FORMAT PARQUET, PARTITION_BY (snapshot_date), OVERWRITE_OR_IGNORE)"
        )
    con.close()
    return lake
