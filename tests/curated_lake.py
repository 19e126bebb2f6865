"""A tiny curated lake written with Spark in exactly the curated schemas (docs/design.md s.3).

Used by the catalog, Athena SQL and report tests. The data is small enough to compute every query's
answer by hand; the story it tells:

playlist p1 "Old A" on 2026-11-01, renamed "Top A" on 2026-11-02 (analysis groups by id, shows "Top A")
    2026-11-01: 1 t1 "One", 2 t2 "Two", 3 t3 "Three"
    2026-11-02: 1 t2, 2 t1, (a local file, unranked), 3 t4 "Four"
playlist p2 "Top B" (one snapshot)
    2026-11-02: 1 t1, 2 t5 "Five", 3 t1 again (listed twice: one chart track, best rank 1)

tracks      t1 album a1, artists [ar1], explicit ("Uno" on 11-01, renamed "One" on 11-02)
            t2 album a1, artists [ar1, ar2], not explicit
            t3 album a2, artists [ar2], not explicit   t4 album a3, artists [ar3], explicit
            t5 album a3, artists [ar3], explicit unknown (None)
albums      a1 "Fresh" 2026-10-20 (day)   a2 "Classic" 1981 (year -> 1981-01-01)   a3 "Mid" 2025-06 (month)
artists     ar1 "Artist One" (11-01), renamed "Artist 1" (11-02), genres [pop, dance] enriched on 11-01 only
            ar2 "Artist Two" genres [pop]     ar3 "Artist Three", never enriched (genres None)
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from datetime import date, datetime
from pathlib import Path
from typing import Any

from pyspark.sql import SparkSession

from spotify_etl.lake import MANIFEST_NAME, path_uri, table_symlinks
from spotify_etl.transform.registry import TABLE_SCHEMAS

D1, D2 = "2026-11-01", "2026-11-02"
TS = {D1: datetime(2026, 11, 1, 3, 0, 5), D2: datetime(2026, 11, 2, 3, 0, 5)}


def _src(playlist: str, day: str) -> str:
    return f"file:///lake/raw/playlists/ingest_date={day}/playlist_id={playlist}/{day.replace('-', '')}T030005Z-x.json.gz"


def _row(table: str, day: str, playlist: str = "p1", **values: Any) -> dict[str, Any]:
    row: dict[str, Any] = {f.name: None for f in TABLE_SCHEMAS[table].fields}
    row.update(values, extracted_at=TS[day], source_file=_src(playlist, day), snapshot_date=day)
    return row


CHARTS = {
    ("p1", D1): ["t1", "t2", "t3"],
    ("p1", D2): ["t2", "t1", None, "t4"],  # None: a local file
    ("p2", D2): ["t1", "t5", "t1"],  # t1 listed twice
}
PLAYLIST_NAMES = {"p1": "Top A", "p2": "Top B"}
OLD_NAMES = {("p1", D1): "Old A", ("t1", D1): "Uno"}  # names before a rename
TRACKS = {
    # track_id: (name, album, artists, explicit)
    "t1": ("One", "a1", ["ar1"], True),
    "t2": ("Two", "a1", ["ar1", "ar2"], False),
    "t3": ("Three", "a2", ["ar2"], False),
    "t4": ("Four", "a3", ["ar3"], True),
    "t5": ("Five", "a3", ["ar3"], None),
}
ALBUMS = {
    "a1": ("Fresh", date(2026, 10, 20), "2026-10-20", "day"),
    "a2": ("Classic", date(1981, 1, 1), "1981", "year"),
    "a3": ("Mid", date(2025, 6, 1), "2025-06", "month"),
}


def table_rows() -> dict[str, list[dict[str, Any]]]:
    """The rows of each curated table."""
    rows: dict[str, list[dict[str, Any]]] = {t: [] for t in TABLE_SCHEMAS}
    for (playlist, day), chart in CHARTS.items():
        rows["playlist_snapshots"].append(
            _row(
                "playlist_snapshots",
                day,
                playlist,
                playlist_id=playlist,
                snapshot_id=f"snap-{playlist}-{day}",
                playlist_name=OLD_NAMES.get((playlist, day), PLAYLIST_NAMES[playlist]),
                description=None,
                owner_id="spotify",
                owner_display_name="Spotify",
                followers=1000 if playlist == "p1" else None,
                is_public=True,
                is_collaborative=False,
                item_count=len(chart),
            )
        )
        for position, track_id in enumerate(chart):
            rows["playlist_items"].append(
                _row(
                    "playlist_items",
                    day,
                    playlist,
                    playlist_id=playlist,
                    snapshot_id=f"snap-{playlist}-{day}",
                    position=position,
                    item_type="track" if track_id else "local",
                    item_id=track_id,
                    item_uri=f"spotify:track:{track_id}" if track_id else "spotify:local:x:y:z:1",
                    track_id=track_id,
                    added_at=datetime(2026, 10, 30),
                    added_by_id=None,
                )
            )
    by_day: dict[str, set[str]] = {}
    for (_playlist, day), chart in CHARTS.items():
        by_day.setdefault(day, set()).update(t for t in chart if t)
    for day, track_ids in sorted(by_day.items()):
        albums_today: set[str] = set()
        artists_today: set[str] = set()
        for track_id in sorted(track_ids):
            name, album, artist_ids, explicit = TRACKS[track_id]
            rows["tracks"].append(
                _row(
                    "tracks",
                    day,
                    track_id=track_id,
                    track_name=OLD_NAMES.get((track_id, day), name),
                    album_id=album,
                    artist_ids=artist_ids,
                    duration_ms=200000,
                    is_explicit=explicit,
                    isrc=None,
                    popularity=None,
                    disc_number=1,
                    track_number=1,
                    track_uri=f"spotify:track:{track_id}",
                    preview_url=None,
                )
            )
            for position, artist_id in enumerate(artist_ids):
                rows["track_artists"].append(
                    _row(
                        "track_artists", day, track_id=track_id, artist_id=artist_id, artist_position=position
                    )
                )
            albums_today.add(album)
            artists_today.update(artist_ids)
        for album in sorted(albums_today):
            a_name, released, raw, precision = ALBUMS[album]
            rows["albums"].append(
                _row(
                    "albums",
                    day,
                    album_id=album,
                    album_name=a_name,
                    album_type="album",
                    release_date=released,
                    release_date_raw=raw,
                    release_date_precision=precision,
                    total_tracks=10,
                    artist_ids=["ar1"] if album == "a1" else ["ar2"] if album == "a2" else ["ar3"],
                    image_url=None,
                )
            )
        for artist_id in sorted(artists_today):
            if artist_id == "ar1":
                name = "Artist One" if day == D1 else "Artist 1"
                genres = ["pop", "dance"] if day == D1 else None
            elif artist_id == "ar2":
                name, genres = "Artist Two", ["pop"]
            else:
                name, genres = "Artist Three", None
            rows["artists"].append(
                _row(
                    "artists",
                    day,
                    artist_id=artist_id,
                    artist_name=name,
                    artist_uri=f"spotify:artist:{artist_id}",
                    genres=genres,
                    popularity=50 if genres else None,
                    followers=10 if genres else None,
                )
            )
    return rows


def write_table(spark: SparkSession, curated: Path, table: str, rows: list[dict[str, Any]]) -> None:
    """Append rows to one curated table, partitioned by snapshot_date, one file per partition."""
    schema = TABLE_SCHEMAS[table]
    df = spark.createDataFrame([tuple(r[f.name] for f in schema.fields) for r in rows], schema)
    df.coalesce(1).write.mode("append").partitionBy("snapshot_date").parquet(str(curated / table))
    write_manifests(curated, table)


def write_manifests(curated: Path, table: str) -> None:
    """List each partition's Parquet files in its manifest (curated/symlinks/...), as the transform's swap does."""
    for folder in sorted((curated / table).glob("snapshot_date=*")):
        manifest = Path(table_symlinks(str(curated), table)) / folder.name / MANIFEST_NAME
        manifest.parent.mkdir(parents=True, exist_ok=True)
        manifest.write_text("".join(f"{path_uri(f)}\n" for f in sorted(folder.glob("*.parquet"))))


def build_curated_lake(spark: SparkSession, lake: Path, days: tuple[str, ...] = (D1, D2)) -> Path:
    """Write the tiny lake's curated tables (only the given days) under ``lake/curated``; return ``lake``."""
    curated = lake / "curated"
    for table, rows in table_rows().items():
        wanted = [r for r in rows if r["snapshot_date"] in days]
        if wanted:
            write_table(spark, curated, table, wanted)
    return lake


_BUILT: dict[str, Path] = {}


def curated_lake_copy(spark: SparkSession, dest: Path, days: tuple[str, ...] = (D1, D2)) -> Path:
    """A copy of the tiny lake (only ``days``) at ``dest``; Spark writes it once per test session."""
    if "lake" not in _BUILT:
        root = Path(tempfile.mkdtemp(prefix="curated-lake-"))
        atexit.register(shutil.rmtree, root, True)
        _BUILT["lake"] = build_curated_lake(spark, root / "lake")
    dropped = {f"snapshot_date={d}" for d in (D1, D2) if d not in days}
    shutil.copytree(
        _BUILT["lake"],
        dest,
        dirs_exist_ok=True,
        ignore=lambda _dir, names: [n for n in names if n in dropped],
    )
    for table in TABLE_SCHEMAS:  # manifests name files by absolute path: list the copy's own
        if (dest / "curated" / table).is_dir():
            write_manifests(dest / "curated", table)
    return dest
