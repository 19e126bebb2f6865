"""The benchmark's own parts: the generator lands valid raw objects, and the DuckDB yardstick builds the
same rows as the Spark transform (which makes it a cross-check of the transform, too)."""

from __future__ import annotations

import gzip
import hashlib
import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from chispa import assert_df_equality
from pyspark.sql import DataFrame, SparkSession

from bench import duckdb_baseline, generate
from bench.generate import Observation, TierShape, base_observations, increments, write_raw_set
from bench.measure import layout
from spotify_etl.runtime.local.transform import config_for_lake, run_local_transform
from spotify_etl.transform.registry import CURATED_TABLES, TABLE_SCHEMAS
from tests import builders as b

KEY_PATTERN = re.compile(
    r"^playlists/ingest_date=(\d{4}-\d{2}-\d{2})/playlist_id=([0-9A-Za-z]{22})/"
    r"(\d{8}T\d{6}Z)-([0-9a-f]{12})\.json\.gz$"
)
ENVELOPE_KEYS = {
    "schema_version", "extracted_at", "market", "api", "playlist", "items", "artists", "artists_fetched_at",
}  # fmt: skip


def _raw_objects(raw: Path) -> dict[str, dict]:
    """Every raw object under ``raw`` by key, checked to be gzip of exactly one JSON line."""
    found = {}
    for path in sorted(raw.rglob("*")):
        if path.is_dir():
            continue
        lines = gzip.decompress(path.read_bytes()).decode("utf-8").splitlines()
        assert len(lines) == 1, f"{path} holds {len(lines)} lines, the contract is one"
        found[path.relative_to(raw).as_posix()] = json.loads(lines[0])
    return found


def test_generator_lands_contract_objects(tmp_path: Path) -> None:
    shape = TierShape("T", n_playlists=3, days=2)
    raw = tmp_path / "raw"

    stats = write_raw_set(7, shape, raw, base_observations(shape), workers=1)

    objects = _raw_objects(raw)
    assert stats.objects == len(objects) == 6
    assert stats.items == sum(len(e["items"]) for e in objects.values()) == 600
    assert stats.bytes_gz == sum(p.stat().st_size for p in raw.rglob("*.json.gz"))
    for key, envelope in objects.items():
        match = KEY_PATTERN.match(key)
        assert match, f"key {key} does not follow docs/design.md s.2"
        ingest_date, playlist_id, stamp, digest = match.groups()
        assert set(envelope) == ENVELOPE_KEYS
        assert envelope["schema_version"] == 1
        extracted_at = datetime.strptime(envelope["extracted_at"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        assert (ingest_date, stamp) == (f"{extracted_at:%Y-%m-%d}", f"{extracted_at:%Y%m%dT%H%M%SZ}")
        assert envelope["playlist"]["id"] == playlist_id
        assert "items" not in envelope["playlist"] and "tracks" not in envelope["playlist"]
        assert digest == hashlib.sha256(envelope["playlist"]["snapshot_id"].encode()).hexdigest()[:12]
        assert len(envelope["items"]) == 100
        assert envelope["artists"], "the chart world enriches every observation"
        assert set(envelope["artists_fetched_at"]) == {a["id"] for a in envelope["artists"]}
    # Realism: tracks recur across days, and playlist 0 carries the odd items.
    kinds = set()
    track_days: dict[str, set[str]] = {}
    for key, envelope in objects.items():
        for item in envelope["items"]:
            obj = item["item"]
            kinds.add("unavailable" if obj is None else "local" if item["is_local"] else obj["type"])
            if obj and obj.get("id") and obj["type"] == "track":
                track_days.setdefault(obj["id"], set()).add(key.split("/")[1])
    assert kinds == {"track", "episode", "local", "unavailable"}
    assert any(len(days) == 2 for days in track_days.values())


def test_increments_add_a_new_day_and_a_later_observation_of_an_existing_day() -> None:
    shape = TierShape("T", n_playlists=50, days=4)

    inc1, inc50 = increments(shape)

    assert inc1 == [Observation(0, 4)]
    assert len(inc50) == len(set(inc50)) == 50
    assert Observation(0, 3, 15) in inc50  # later the same day as the last base observation: a merge
    assert {o.day for o in inc50} == {3, 4}
    assert not set(inc50) & set(base_observations(shape)) and not set(inc1) & set(inc50)


def _edge_case_envelopes() -> list[dict]:
    """Two days, a playlist observed twice on one day, a thinner later observation, every item type."""
    shared = b.track(name="Shared Hit", artists=[b.simple_artist("Ann"), b.simple_artist("Bo")])
    yearly = b.track(
        name="Old Song",
        album=b.album(name="Old Album", release_date="1981", release_date_precision="year"),
        popularity=b.OMIT,
    )
    monthly = b.track(
        name="Month Song",
        album=b.album(
            name="Month Album",
            release_date="1999-12",
            release_date_precision=None,
            images=[b.image(300, seed="x"), b.image(640, seed="b"), b.image(640, seed="a")],
        ),
        artists=[b.simple_artist("Cy"), {"id": None, "name": "Nobody", "uri": None}],
    )
    morning = b.envelope(
        playlist=b.playlist(id="pl1", followers=None),
        items=[
            b.playlist_item(shared),
            b.playlist_item(shared, added_at="2026-11-02T10:00:00Z"),  # listed twice
            b.playlist_item(yearly, key="track"),
            b.playlist_item(b.local_track()),
            b.playlist_item(b.episode()),
            b.playlist_item(None),
        ],
        artists=[b.full_artist(id=b.spotify_id("artist:Ann"), name="Ann", popularity=None)],
        extracted_at=datetime(2026, 11, 22, 3, 0, 5, tzinfo=UTC),
    )
    evening = b.envelope(  # later the same day, shorter, not enriched: Ann's enrichment must survive
        playlist=b.playlist(id="pl1", name="Rap RU (evening)"),
        items=[b.playlist_item(monthly, key="both"), b.playlist_item(shared)],
        extracted_at=datetime(2026, 11, 22, 15, 0, 5, tzinfo=UTC),
    )
    other = b.envelope(
        playlist=b.playlist(id="pl2", name="Other", description=None),
        items=[b.playlist_item(yearly), b.playlist_item(monthly, added_by=None)],
        artists=[b.full_artist(id=b.spotify_id("artist:Cy"), name="Cy", genres=b.OMIT, followers=None)],
        extracted_at=datetime(2026, 11, 23, 3, 0, 5, tzinfo=UTC),
    )
    return [morning, evening, other]


def _read(spark: SparkSession, root: Path, table: str) -> DataFrame:
    return spark.read.schema(TABLE_SCHEMAS[table]).parquet(str(root / table))


def test_duckdb_yardstick_builds_the_transforms_rows(spark: SparkSession, tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    morning, evening, other = _edge_case_envelopes()
    config, bookmarks = config_for_lake(lake)
    # The transform sees the objects in two runs (an incremental merge); DuckDB rebuilds from all of them.
    b.land(lake / "raw", morning)
    b.land(lake / "raw", other)
    run_local_transform(config, spark, bookmarks_root=bookmarks)
    b.land(lake / "raw", evening)
    run_local_transform(config, spark, bookmarks_root=bookmarks)

    summary = duckdb_baseline.build(lake / "raw", tmp_path / "duckdb")

    assert summary["objects_kept"] == 3
    for table in CURATED_TABLES:
        spark_df = _read(spark, lake / "curated", table)
        duckdb_df = _read(spark, tmp_path / "duckdb", table)
        assert spark_df.count() > 0, table
        assert_df_equality(spark_df, duckdb_df, ignore_row_order=True, ignore_nullable=True)


def test_duckdb_yardstick_ranks_enriched_artists_first(spark: SparkSession, tmp_path: Path) -> None:
    morning, evening, _ = _edge_case_envelopes()
    b.land(tmp_path / "raw", morning)
    b.land(tmp_path / "raw", evening)

    duckdb_baseline.build(tmp_path / "raw", tmp_path / "out")

    ann = _read(spark, tmp_path / "out", "artists").where("artist_name = 'Ann'").collect()
    assert [(r.genres, r.popularity, r.followers, r.source_file.split("/")[-1][:16]) for r in ann] == [
        (["dance pop", "miami hip hop"], None, 2265279, "20261122T030005Z")
    ]


def test_layout_flags_partitions_of_several_small_files(tmp_path: Path) -> None:
    one = tmp_path / "tracks" / "snapshot_date=2026-11-22"
    two = tmp_path / "tracks" / "snapshot_date=2026-11-23"
    one.mkdir(parents=True)
    two.mkdir(parents=True)
    (one / "part-0.parquet").write_bytes(b"x" * 10)
    (two / "part-0.parquet").write_bytes(b"x" * 20)
    (two / "part-1.parquet").write_bytes(b"x" * 30)

    (tracks,) = layout(tmp_path, ["tracks"])

    assert (tracks.partitions, tracks.files, tracks.max_files_per_partition) == (2, 3, 2)
    assert tracks.flagged_partitions == ["snapshot_date=2026-11-23"]
    assert (tracks.file_bytes_min, tracks.file_bytes_median, tracks.file_bytes_max) == (10, 20, 30)


def test_duckdb_yardstick_drops_invalid_envelopes(tmp_path: Path) -> None:
    good = b.envelope()
    bad = b.envelope(playlist=b.playlist(id="pl9"))
    bad["schema_version"] = 99
    b.land(tmp_path / "raw", good)
    b.land(tmp_path / "raw", bad)

    summary = duckdb_baseline.build(tmp_path / "raw", tmp_path / "out", threads=1)

    assert (summary["objects_read"], summary["objects_kept"]) == (2, 1)


def test_a_cached_tier_moved_with_its_folder_is_reused_where_it_now_is(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The manifest records where the tier was generated; a cache copied from another clone is found where it is
    now, and is not generated again."""
    monkeypatch.setitem(generate.TIERS, "S", TierShape("S", n_playlists=2, days=1))
    made = generate.generate_tier("S", data_dir=tmp_path / "first", workers=1)
    landed = [sorted(p.name for p in s.raw.rglob("*.json.gz")) for s in (made.base, made.inc1, made.inc50)]
    (tmp_path / "first").rename(tmp_path / "moved")

    def never(*args: object) -> None:
        raise AssertionError("the cached tier was generated again")

    monkeypatch.setattr(generate, "write_raw_set", never)
    found = generate.generate_tier("S", data_dir=tmp_path / "moved", workers=1)

    moved = tmp_path / "moved" / "S-seed7"
    assert (found.base.raw, found.inc1.raw, found.inc50.raw) == (
        moved / "base" / "raw",
        moved / "inc1" / "raw",
        moved / "inc50" / "raw",
    )
    assert [(s.objects, s.items, s.bytes_gz) for s in (found.base, found.inc1, found.inc50)] == [
        (s.objects, s.items, s.bytes_gz) for s in (made.base, made.inc1, made.inc50)
    ]
    assert [
        sorted(p.name for p in s.raw.rglob("*.json.gz")) for s in (found.base, found.inc1, found.inc50)
    ] == landed
