"""Dates Spark 3.x refuses to write by default (before 1582-10-15; timestamps before 1900) are kept as they are.

The run must not fail with WRITE_ANCIENT_DATETIME, and a reader other than Spark (DuckDB, as Athena's Trino
would) must see the same calendar date the API sent (``PARQUET_WRITE_CONF``: rebase mode CORRECTED).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
from pyspark.sql import SparkSession

from spotify_etl.runtime.local.transform import config_for_lake, run_local_transform
from tests import builders as b

AT = datetime(2026, 11, 20, 3, 0, 5, tzinfo=UTC)


def _epoch_us(moment: datetime) -> int:
    return int((moment - datetime(1970, 1, 1, tzinfo=UTC)).total_seconds()) * 1_000_000


def _land_ancient(lake: Path) -> None:
    ancient = b.track(id="t-old", album=b.album(id="al-old", release_date="1200-05-01"))
    modern = b.track(
        id="t-new", album=b.album(id="al-new", release_date="1981-12", release_date_precision="month")
    )
    items = [
        b.playlist_item(ancient, added_at="1850-01-02T03:04:05Z"),
        b.playlist_item(modern),
    ]
    b.land(lake / "raw", b.envelope(playlist=b.playlist(id="p1"), items=items, extracted_at=AT))


def test_ancient_release_date_and_added_at_are_written_as_sent(spark: SparkSession, tmp_path: Path) -> None:
    _land_ancient(tmp_path)
    config, bookmarks = config_for_lake(tmp_path)

    summary = run_local_transform(config, spark, bookmarks_root=bookmarks)

    assert (summary.objects_valid, summary.rejected, summary.bookmark_committed) == (1, {}, True)
    curated = tmp_path / "curated"
    with duckdb.connect() as con:
        albums = con.execute(
            "SELECT album_id, release_date, release_date_raw FROM read_parquet(?) ORDER BY album_id",
            [str(curated / "albums" / "*" / "*.parquet")],
        ).fetchall()
        added = con.execute(
            "SELECT track_id, epoch_us(added_at) FROM read_parquet(?) ORDER BY track_id",
            [str(curated / "playlist_items" / "*" / "*.parquet")],
        ).fetchall()
    assert albums == [
        ("al-new", date(1981, 12, 1), "1981-12"),
        ("al-old", date(1200, 5, 1), "1200-05-01"),
    ]
    assert added == [
        ("t-new", _epoch_us(datetime(2026, 11, 1, 10, 0, 0, tzinfo=UTC))),
        ("t-old", _epoch_us(datetime(1850, 1, 2, 3, 4, 5, tzinfo=UTC))),
    ]
