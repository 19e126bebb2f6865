"""The whole pipeline, report included, on the wild world (``make run WORLD=wild``): nothing is lost or mangled.

Simulator (wild world: awkward names, release dates of 1200, a 10,000-item playlist) -> extract -> the
template's workflow (transform, crawler) -> queries -> report, then ``spotify-etl audit``: every raw object
is accounted for, every name served is in the tables exactly as served, and the report renders.
"""

from __future__ import annotations

import gzip
import html
import json
from pathlib import Path

import duckdb
import pytest
from pyspark.sql import SparkSession

from spotify_etl.cli import main
from spotify_etl.devtools.pipeline import PipelineOptions, run_pipeline
from spotify_etl.simulator.wild import (
    LARGEST_PLAYLIST_SIZE,
    WILD_ARTIST_NAMES,
    WILD_PLAYLIST_NAME,
    WILD_TRACK_NAMES,
)


def _run(lake: Path, spark: SparkSession, lines: list[str]) -> None:
    run_pipeline(PipelineOptions(lake=lake, days=1, world="wild"), env={}, say=lines.append, spark=spark)


def _column(lake: Path, table: str, column: str) -> set[str]:
    files = str(lake / "curated" / table / "*" / "*.parquet")
    with duckdb.connect(":memory:") as con:
        return {
            row[0]
            for row in con.execute(f"SELECT DISTINCT {column} FROM read_parquet(?)", [files]).fetchall()
        }


@pytest.mark.e2e
def test_the_wild_world_lands_every_object_and_every_name(
    spark: SparkSession, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lake = tmp_path / "lake"
    lines: list[str] = []

    _run(lake, spark, lines)
    capsys.readouterr()
    audit = main(["audit", "--lake", str(lake)])
    audit_out = capsys.readouterr().out

    assert audit == 0, audit_out
    assert audit_out.splitlines()[-1].startswith("all ") and "accounted for" in audit_out
    assert set(WILD_TRACK_NAMES) <= _column(lake, "tracks", "track_name")
    assert set(WILD_ARTIST_NAMES) <= _column(lake, "artists", "artist_name")
    assert WILD_PLAYLIST_NAME in _column(lake, "playlist_snapshots", "playlist_name")
    assert {"1200", "1200-05-01", "1899-12"} <= _column(lake, "albums", "release_date_raw")
    assert {"local", "episode", "unavailable", "track"} <= _column(lake, "playlist_items", "item_type")
    largest = json.loads(
        gzip.decompress(max((lake / "raw").rglob("*.json.gz"), key=lambda p: p.stat().st_size).read_bytes())
    )
    assert len(largest["items"]) == LARGEST_PLAYLIST_SIZE
    page = (lake / "report" / "index.html").read_text(encoding="utf-8")
    assert "Report failed" not in page
    assert html.escape(WILD_PLAYLIST_NAME) in page
    assert "<script>" not in page
