"""`spotify-etl audit` checks content against the runs' write records (spotify_etl/transform/record.py).

One real transform run (Spark, local bookmark) writes the lake; each test works on a copy of it (times kept),
so that deleting, altering or moving it is the test's own.
"""

from __future__ import annotations

import gzip
import json
import shutil
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest
from pyspark.sql import SparkSession

from spotify_etl.audit.stores import S3LakeStore
from spotify_etl.cli import main
from spotify_etl.lake import MANIFEST_NAME, local_path, to_uri
from spotify_etl.runtime.local.transform import config_for_lake, run_local_transform
from tests import builders as b
from tests.unit.audit.test_ledger import BUCKET, DAY1, _audit, _land, _observation, _set_mtime, _statuses, s3  # noqa: F401

DAY2 = DAY1.replace(day=21)


@pytest.fixture(scope="module")
def written(spark: SparkSession, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """Two days of p1 (an early and a later observation on day 1), p2 on day 2, two bad objects."""
    lake = tmp_path_factory.mktemp("audit_content") / "lake"
    raw = lake / "raw"
    uris = {
        "early": _land(raw, _observation("p1", DAY1, "t1")),
        "later": _land(raw, _observation("p1", DAY1.replace(hour=15), "t1")),
        "day2": _land(raw, _observation("p2", DAY2, "t3")),
    }
    for name in ("bad1", "bad2"):
        bad = (
            raw
            / "playlists"
            / "ingest_date=2026-11-20"
            / f"playlist_id={name}"
            / "20261120T030005Z-0.json.gz"
        )
        bad.parent.mkdir(parents=True)
        bad.write_bytes(b"not gzip")
        uris[name] = to_uri(bad)
    config, bookmarks = config_for_lake(lake)
    run_local_transform(config, spark, bookmarks_root=bookmarks)
    return lake, uris


@pytest.fixture
def copy(written: tuple[Path, dict[str, str]], tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """A copy of the written lake at another folder (modification times kept), and its objects' URIs there."""
    lake, uris = written
    moved = tmp_path / "elsewhere" / "lake"
    shutil.copytree(lake, moved)
    return moved, {k: u.replace(to_uri(lake), to_uri(moved)) for k, u in uris.items()}


def test_the_run_leaves_one_record_naming_raw_keys_and_each_partition(
    written: tuple[Path, dict[str, str]],
) -> None:
    lake, uris = written
    [record_file] = (lake / "curated" / "_records").glob("*.json")  # Hadoop also leaves a .crc
    record = json.loads(record_file.read_bytes())
    key = {name: uri.removeprefix(f"{to_uri(lake)}/raw/") for name, uri in uris.items()}

    assert record_file.name.startswith("0000000001-")
    assert record["landed"] == {
        "2026-11-20": sorted([key["early"], key["later"]]),
        "2026-11-21": [key["day2"]],
    }
    assert record["rejected"] == {key["bad1"]: "not_gzip", key["bad2"]: "not_gzip"}
    assert sorted(record["tables"]) == [
        "albums",
        "artists",
        "playlist_items",
        "playlist_snapshots",
        "track_artists",
        "tracks",
    ]
    [tracks_file] = record["tables"]["tracks"]["2026-11-20"]["files"]
    on_disk = lake / "curated" / "tracks" / "snapshot_date=2026-11-20" / tracks_file["name"]
    assert (tracks_file["rows"], tracks_file["bytes"]) == (1, on_disk.stat().st_size)


def test_a_moved_lake_audits_the_same(
    copy: tuple[Path, dict[str, str]], capsys: pytest.CaptureFixture[str]
) -> None:
    moved, uris = copy

    code, out, err = _audit(moved, capsys)

    assert (code, err) == (0, "")
    assert out.splitlines()[-1] == "all 5 raw objects accounted for"
    assert _statuses(moved)[uris["later"]] == "in_tables"


def test_a_deleted_partition_is_named_with_its_objects_then_reprocessed(
    copy: tuple[Path, dict[str, str]], spark: SparkSession, capsys: pytest.CaptureFixture[str]
) -> None:
    lake, uris = copy
    shutil.rmtree(lake / "curated" / "tracks" / "snapshot_date=2026-11-20")

    code, out, _ = _audit(lake, capsys)

    lines = out.splitlines()
    at = lines.index(
        "deleted partition: tracks/snapshot_date=2026-11-20  (1 file(s), 1 rows recorded; none in the lake)"
    )
    quoted = f"'{uris['early']}' '{uris['later']}'"
    assert lines[at + 1] == f"    reprocess: spotify-etl transform --lake {lake} --reprocess {quoted}"
    assert code == 1

    assert main(["transform", "--lake", str(lake), "--reprocess", uris["early"], uris["later"]]) == 0
    capsys.readouterr()
    code, out, _ = _audit(lake, capsys)
    assert (code, out.splitlines()[-1]) == (0, "all 5 raw objects accounted for")


def test_an_altered_file_is_reported_with_remove_then_reprocess(
    copy: tuple[Path, dict[str, str]], capsys: pytest.CaptureFixture[str]
) -> None:
    lake, uris = copy
    folder = lake / "curated" / "playlist_items" / "snapshot_date=2026-11-21"
    [part] = folder.glob("*.parquet")
    part.write_bytes(part.read_bytes()[:-1] + b"X")

    code, out, _ = _audit(lake, capsys)

    lines = out.splitlines()
    at = next(
        i
        for i, line in enumerate(lines)
        if line.startswith("altered partition: playlist_items/snapshot_date=2026-11-21")
    )
    assert "content differs from the record" in lines[at]
    assert lines[at + 1 : at + 3] == [
        f"    remove: rm -r '{local_path(to_uri(folder))}'",
        f"    reprocess: spotify-etl transform --lake {lake} --reprocess '{uris['day2']}'",
    ]
    assert code == 1


def test_a_deleted_quarantine_row_is_lost(
    copy: tuple[Path, dict[str, str]], capsys: pytest.CaptureFixture[str]
) -> None:
    lake, uris = copy
    [part] = (lake / "quarantine" / "rejected").glob("*/*.parquet")
    kept = part.with_name("kept.parquet")
    with duckdb.connect() as con:
        con.execute(
            # the rows name the objects where the lake was written, before the copy
            f"COPY (SELECT * FROM read_parquet('{part}') WHERE source_file NOT LIKE '%=bad2/%') "
            f"TO '{kept}' (FORMAT parquet)"
        )
    kept.replace(part)
    # below the bookmark's band: in the copy the band's names (the old paths) no longer match, so the
    # bookmark would otherwise read it again ("pending")
    _set_mtime(uris["bad2"], datetime(2026, 11, 1, tzinfo=UTC))

    code, out, _ = _audit(lake, capsys)

    assert _statuses(lake)[uris["bad2"]] == "lost"
    assert (
        f"lost: {uris['bad2']}  (a run read it; quarantined as not_gzip, its row is gone)" in out.splitlines()
    )
    assert code == 1


def test_a_back_dated_copy_never_read_is_hidden_not_superseded(
    copy: tuple[Path, dict[str, str]], capsys: pytest.CaptureFixture[str]
) -> None:
    lake, _ = copy
    # an earlier observation of p1 on day 1: the tables hold a greater one, but no run ever read this one
    backfill = _land(lake / "raw", _observation("p1", DAY1.replace(hour=1), "t7"))
    _set_mtime(backfill, datetime(2026, 11, 1, tzinfo=UTC))

    code, _, _ = _audit(lake, capsys)

    assert _statuses(lake)[backfill] == "hidden"
    assert code == 1


def test_an_object_nested_5000_deep_does_not_crash_the_audit(
    copy: tuple[Path, dict[str, str]], capsys: pytest.CaptureFixture[str]
) -> None:
    lake, _ = copy
    shutil.rmtree(lake / "curated" / "_records")  # a lake without records reads every unaccounted object
    deep = (
        lake
        / "raw"
        / "playlists"
        / "ingest_date=2026-11-20"
        / "playlist_id=p8"
        / "20261120T030005Z-d.json.gz"
    )
    deep.parent.mkdir(parents=True)
    envelope = json.dumps(b.envelope(playlist=b.playlist(id="p8"), extracted_at=DAY1))
    deep.write_bytes(gzip.compress((envelope[:-1] + ', "x": ' + "[" * 5000 + "]" * 5000 + "}").encode()))
    _set_mtime(to_uri(deep), datetime(2026, 11, 1, tzinfo=UTC))

    code, out, err = _audit(lake, capsys)

    assert (code, err) == (1, "")
    assert f"hidden: {to_uri(deep)}" in out
    assert "note: no write records in this lake" in out


def test_an_s3_lake_is_checked_against_its_records(
    written: tuple[Path, dict[str, str]],
    s3,  # noqa: F811
    capsys: pytest.CaptureFixture[str],
) -> None:
    lake, _ = written
    for path in lake.rglob("*"):
        key = path.relative_to(lake).as_posix()
        if path.is_file() and key.split("/")[0] in ("raw", "curated", "quarantine"):
            s3.put_object(Bucket=BUCKET, Key=f"copied/{key}", Body=path.read_bytes())
    s3_lake = f"s3://{BUCKET}/copied"
    assert _audit(s3_lake, capsys)[0] == 0
    gone = s3.list_objects_v2(Bucket=BUCKET, Prefix="copied/curated/albums/snapshot_date=2026-11-21/")
    for item in gone["Contents"]:
        s3.delete_object(Bucket=BUCKET, Key=item["Key"])

    code, out, _ = _audit(s3_lake, capsys)

    assert code == 1
    assert "deleted partition: albums/snapshot_date=2026-11-21" in out
    assert S3LakeStore(s3_lake, client=s3).layout.raw == f"{s3_lake}/raw"


def test_a_partition_its_manifest_no_longer_lists_is_unlisted(
    copy: tuple[Path, dict[str, str]], capsys: pytest.CaptureFixture[str]
) -> None:
    lake, uris = copy
    manifest = lake / "curated" / "symlinks" / "albums" / "snapshot_date=2026-11-21" / MANIFEST_NAME
    manifest.unlink()  # readers (Athena, the twin) now see no row of that partition

    code, out, _ = _audit(lake, capsys)

    lines = out.splitlines()
    at = lines.index(
        "unlisted partition: albums/snapshot_date=2026-11-21  (its manifest is missing: readers see none of its rows)"
    )
    assert lines[at + 1] == f"    reprocess: spotify-etl transform --lake {lake} --reprocess '{uris['day2']}'"
    assert code == 1
