"""The local crawler registers the curated tables in the DuckDB catalog as the Glue crawler would."""

from __future__ import annotations

import shutil
from datetime import datetime
from pathlib import Path

import pytest
from pyspark.sql import SparkSession
from pyspark.sql.types import (
    ArrayType,
    BooleanType,
    DateType,
    IntegerType,
    LongType,
    StringType,
    TimestampType,
)

from spotify_etl.aws_twin.catalog_store import connect
from spotify_etl.aws_twin.crawler import CatalogError, crawl_lake, glue_type
from spotify_etl.lake import LakeLayout
from spotify_etl.quality.results import RESULTS_TABLE
from spotify_etl.transform.registry import CURATED_TABLES, TABLE_SCHEMAS
from spotify_etl.transform.schema import QUARANTINE
from tests.catalog_rows import catalog_rows
from tests.curated_lake import D1, D2, curated_lake_copy, write_manifests

SPARK_TO_GLUE = {
    StringType(): "string",
    LongType(): "bigint",
    IntegerType(): "int",
    BooleanType(): "boolean",
    TimestampType(): "timestamp",
    DateType(): "date",
    ArrayType(StringType()): "array<string>",
}


# the template declares the six tables and data_quality_results (always registered, even empty)
DECLARED_TABLES = (*CURATED_TABLES, RESULTS_TABLE)


@pytest.fixture(scope="module")
def two_day_lake(spark: SparkSession, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return curated_lake_copy(spark, tmp_path_factory.mktemp("catalog_lake"))


def test_registers_the_six_tables_with_glue_types_and_the_partition_key(two_day_lake: Path) -> None:
    result = crawl_lake(two_day_lake)

    assert sorted(result.tables) == sorted(DECLARED_TABLES)
    for table in CURATED_TABLES:
        expected = [
            (f.name, SPARK_TO_GLUE[f.dataType], f.name == "snapshot_date")
            for f in TABLE_SCHEMAS[table].fields
        ]
        got = catalog_rows(
            two_day_lake,
            f"SELECT column_name, glue_type, is_partition_key FROM lake_catalog.columns "
            f"WHERE table_name = '{table}' ORDER BY ordinal",
        )
        assert got == expected, table
    # spelled out once, by hand, for one table
    assert catalog_rows(
        two_day_lake,
        "SELECT column_name, glue_type FROM lake_catalog.columns WHERE table_name = 'tracks' ORDER BY ordinal",
    ) == [
        ("track_id", "string"),
        ("track_name", "string"),
        ("album_id", "string"),
        ("artist_ids", "array<string>"),
        ("duration_ms", "bigint"),
        ("is_explicit", "boolean"),
        ("isrc", "string"),
        ("popularity", "bigint"),
        ("disc_number", "int"),
        ("track_number", "int"),
        ("track_uri", "string"),
        ("preview_url", "string"),
        ("extracted_at", "timestamp"),
        ("source_file", "string"),
        ("snapshot_date", "string"),
    ]


def test_partitions_and_table_metadata_are_recorded(two_day_lake: Path) -> None:
    crawl_lake(two_day_lake)
    curated = two_day_lake / "curated"

    assert catalog_rows(
        two_day_lake,
        "SELECT table_name, snapshot_date, location, file_count FROM lake_catalog.partitions "
        "WHERE table_name = 'albums' ORDER BY snapshot_date",
    ) == [
        ("albums", D1, f"file://{curated}/symlinks/albums/snapshot_date={D1}", 1),
        ("albums", D2, f"file://{curated}/symlinks/albums/snapshot_date={D2}", 1),
    ]
    assert catalog_rows(
        two_day_lake,
        "SELECT table_name, location, classification, partition_keys, partition_count FROM lake_catalog.tables "
        "WHERE table_name = 'playlist_snapshots'",
    ) == [
        ("playlist_snapshots", f"file://{curated}/symlinks/playlist_snapshots", "parquet", "snapshot_date", 2)
    ]


def test_tables_read_as_athena_would_snapshot_date_a_string_timestamps_in_utc(two_day_lake: Path) -> None:
    crawl_lake(two_day_lake)

    rows = catalog_rows(
        two_day_lake,
        "SELECT playlist_id, playlist_name, followers, item_count, extracted_at, snapshot_date "
        "FROM playlist_snapshots ORDER BY snapshot_date, playlist_id",
    )

    assert rows == [
        ("p1", "Old A", 1000, 3, datetime(2026, 11, 1, 3, 0, 5), D1),
        ("p1", "Top A", 1000, 4, datetime(2026, 11, 2, 3, 0, 5), D2),
        ("p2", "Top B", None, 3, datetime(2026, 11, 2, 3, 0, 5), D2),
    ]
    assert catalog_rows(
        two_day_lake, "SELECT typeof(snapshot_date), typeof(extracted_at) FROM tracks LIMIT 1"
    ) == [("VARCHAR", "TIMESTAMP")]


def test_recrawl_picks_up_new_partitions_and_only_registered_ones_are_read(
    spark: SparkSession, tmp_path: Path
) -> None:
    lake = curated_lake_copy(spark, tmp_path / "lake", days=(D1,))
    first = crawl_lake(lake)
    full = curated_lake_copy(spark, tmp_path / "full")
    shutil.copytree(full / f"curated/tracks/snapshot_date={D2}", lake / f"curated/tracks/snapshot_date={D2}")
    write_manifests(lake / "curated", "tracks")  # the swap's switch: the partition's manifest appears
    before_recrawl = catalog_rows(lake, "SELECT DISTINCT snapshot_date FROM tracks ORDER BY 1")

    second = crawl_lake(lake)

    assert first.partitions_added["tracks"] == [D1]
    assert sorted(first.tables_created) == sorted(DECLARED_TABLES)
    assert before_recrawl == [(D1,)]  # like Athena: a partition is read once the crawler registered it
    assert second.tables_created == []
    assert second.partitions_added == {"tracks": [D2]}
    assert catalog_rows(lake, "SELECT snapshot_date, track_id FROM tracks ORDER BY 1, 2") == [
        (D1, "t1"),
        (D1, "t2"),
        (D1, "t3"),
        (D2, "t1"),
        (D2, "t2"),
        (D2, "t4"),
        (D2, "t5"),
    ]


def test_recrawl_is_idempotent(two_day_lake: Path) -> None:
    crawl_lake(two_day_lake)
    snapshot = [
        catalog_rows(two_day_lake, "SELECT * FROM lake_catalog.columns ORDER BY table_name, ordinal"),
        catalog_rows(
            two_day_lake, "SELECT * FROM lake_catalog.partitions ORDER BY table_name, snapshot_date"
        ),
        catalog_rows(two_day_lake, "SELECT * FROM track_artists ORDER BY snapshot_date, track_id, artist_id"),
    ]

    again = crawl_lake(two_day_lake)

    assert (again.tables_created, again.partitions_added, again.partitions_removed) == ([], {}, {})
    assert [
        catalog_rows(two_day_lake, "SELECT * FROM lake_catalog.columns ORDER BY table_name, ordinal"),
        catalog_rows(
            two_day_lake, "SELECT * FROM lake_catalog.partitions ORDER BY table_name, snapshot_date"
        ),
        catalog_rows(two_day_lake, "SELECT * FROM track_artists ORDER BY snapshot_date, track_id, artist_id"),
    ] == snapshot


def test_quarantine_and_underscore_folders_are_never_tables(spark: SparkSession, tmp_path: Path) -> None:
    lake = curated_lake_copy(spark, tmp_path / "lake", days=(D1,))
    rejected = spark.createDataFrame(
        [("file:///raw/x.json.gz", "not_json", None, datetime(2026, 11, 1, 4), D1)], QUARANTINE
    )
    rejected.write.partitionBy("rejected_date").parquet(str(lake / "quarantine" / "rejected"))
    shutil.copytree(lake / "curated" / "tracks", lake / "curated" / "_staging_tracks")
    shutil.copytree(lake / "curated" / "albums", lake / "curated" / ".hidden")

    result = crawl_lake(lake)

    assert sorted(result.tables) == sorted(DECLARED_TABLES)
    assert catalog_rows(lake, "SELECT table_name FROM lake_catalog.tables ORDER BY 1") == [
        (t,) for t in sorted(DECLARED_TABLES)
    ]


def test_a_removed_table_folder_keeps_its_declared_table_and_logged_partitions(
    spark: SparkSession, tmp_path: Path
) -> None:
    """Catalog targets with DeleteBehavior LOG: the declared table stays, its gone partition is only logged."""
    lake = curated_lake_copy(spark, tmp_path / "lake", days=(D1,))
    crawl_lake(lake)
    shutil.rmtree(lake / "curated" / "symlinks" / "albums")  # the table location: its manifests

    result = crawl_lake(lake)

    assert result.tables_removed == []
    assert result.skipped == {f"albums partitions {D1}": "no longer in the lake; kept (DeleteBehavior LOG)"}
    assert catalog_rows(lake, "SELECT count(*) FROM albums") == [(0,)]
    assert catalog_rows(
        lake, "SELECT table_name, snapshot_date FROM lake_catalog.partitions WHERE table_name = 'albums'"
    ) == [("albums", D1)]


def test_querying_before_any_crawl_names_the_fix(tmp_path: Path) -> None:
    with pytest.raises(CatalogError, match=r"no catalog at .*catalog.duckdb: run the crawler first"):
        connect(LakeLayout.from_lake(tmp_path).catalog_file)


@pytest.mark.parametrize(
    ("duckdb_type", "glue"),
    [
        ("VARCHAR", "string"),
        ("BIGINT", "bigint"),
        ("INTEGER", "int"),
        ("TIMESTAMP WITH TIME ZONE", "timestamp"),
        ("VARCHAR[]", "array<string>"),
        ("DECIMAL(10,2)", "decimal(10,2)"),
        ("STRUCT(id VARCHAR, n BIGINT[])", "struct<id:string,n:array<bigint>>"),
        ("MAP(VARCHAR, BIGINT)", "map<string,bigint>"),
    ],
)
def test_parquet_types_map_to_glue_types(duckdb_type: str, glue: str) -> None:
    assert glue_type(duckdb_type) == glue


def test_an_unmappable_type_is_named() -> None:
    with pytest.raises(CatalogError, match="no Glue type for Parquet column type 'UNION"):
        glue_type("UNION(a INTEGER, b VARCHAR)")
