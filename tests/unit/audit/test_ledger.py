"""`spotify-etl audit` accounts for every raw object: in the tables, superseded, quarantined, pending, or not.

The local lake is written by the real transform (Spark, local bookmark); the S3 lake lives in moto, with
Parquet written by pyarrow in the curated tables' layout.
"""

from __future__ import annotations

import gzip
import json
import os
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import boto3
import duckdb
import pytest
from moto import mock_aws
from pyspark.sql import SparkSession

from spotify_etl.audit.ledger import build_ledger
from spotify_etl.audit.stores import S3LakeStore
from spotify_etl.cli import main
from spotify_etl.lake import local_path, to_uri
from spotify_etl.runtime.local.transform import config_for_lake, run_local_transform
from tests import builders as b

DAY1 = datetime(2026, 11, 20, 3, 0, 5, tzinfo=UTC)


def _observation(playlist_id: str, at: datetime, track_id: str) -> dict:
    return b.envelope(
        playlist=b.playlist(
            id=playlist_id, name=f"Chart {playlist_id}", snapshot_id=f"{playlist_id}-{at:%H}"
        ),
        items=[b.playlist_item(b.track(id=track_id, name=f"Song {track_id}"))],
        extracted_at=at,
    )


def _land(raw: Path, envelope: dict) -> str:
    """Land the envelope; its URI as the transform's listing spells it (``file://`` + path, not encoded)."""
    return to_uri(local_path(b.land(raw, envelope)))


def _set_mtime(uri: str, when: datetime) -> None:
    os.utime(uri.removeprefix("file://"), (when.timestamp(), when.timestamp()))


@pytest.fixture(scope="module")
def processed_lake(
    spark: SparkSession, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, dict[str, str]]:
    """A lake after one transform run: an early and a later observation of p1 on one day (the same track,
    so the early one leaves no row), p2, and a bad object."""
    lake = tmp_path_factory.mktemp("audit") / "lake"
    raw = lake / "raw"
    uris = {
        "early": _land(raw, _observation("p1", DAY1, "t1")),
        "later": _land(raw, _observation("p1", DAY1.replace(hour=15), "t1")),  # t1's latest row: later
        "other": _land(raw, _observation("p2", DAY1, "t3")),
    }
    bad = (
        raw
        / "playlists"
        / "ingest_date=2026-11-20"
        / "playlist_id=p9"
        / "20261120T030005Z-000000000000.json.gz"
    )
    bad.parent.mkdir(parents=True)
    bad.write_bytes(b"this is not gzip")
    uris["bad"] = to_uri(bad)
    config, bookmarks = config_for_lake(lake)
    run_local_transform(config, spark, bookmarks_root=bookmarks)
    return lake, uris


@pytest.fixture
def lake(processed_lake: tuple[Path, dict[str, str]]) -> Iterator[tuple[Path, dict[str, str]]]:
    """The processed lake; whatever a test adds to it is removed afterwards (its tables name its own paths)."""
    root, uris = processed_lake
    before = set(root.rglob("*"))
    yield root, uris
    for path in sorted(set(root.rglob("*")) - before, reverse=True):
        path.rmdir() if path.is_dir() else path.unlink()


def _audit(lake: Path | str, capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, str, str]:
    code = main(["audit", "--lake", str(lake), *extra])
    out, err = capsys.readouterr()
    return code, out, err


def _statuses(lake: Path) -> dict[str, str]:
    from spotify_etl.audit.stores import LocalLakeStore
    from spotify_etl.config import RAW_TRANSFORMATION_CTX
    from spotify_etl.runtime.local.bookmarks import LocalBookmarkStore

    store = LocalLakeStore(str(lake))
    bookmarks = LocalBookmarkStore(
        store.layout.bookmarks, "spotify-transform-playlists", RAW_TRANSFORMATION_CTX
    )
    return {e.obj.uri: e.status for e in build_ledger(store, bookmarks.load(), bookmarks.max_band_ms).entries}


def test_a_processed_lake_is_fully_accounted_for(
    lake: tuple[Path, dict[str, str]], capsys: pytest.CaptureFixture[str]
) -> None:
    root, uris = lake

    code, out, err = _audit(root, capsys)

    assert _statuses(root) == {
        uris["early"]: "superseded",
        uris["later"]: "in_tables",
        uris["other"]: "in_tables",
        uris["bad"]: "quarantined",
    }
    assert (code, err) == (0, "")
    assert out.splitlines() == [
        f"audit of {root}: 4 raw objects",
        "        2  in the tables",
        "        1  superseded (replaced by a later observation of the same playlist and day: the merge rule)",
        "        1  quarantined",
        "all 4 raw objects accounted for",
    ]


def test_verbose_lists_each_object_with_why(
    lake: tuple[Path, dict[str, str]], capsys: pytest.CaptureFixture[str]
) -> None:
    root, uris = lake

    out = _audit(root, capsys, "--verbose")[1]

    assert f"superseded: {uris['early']}  (playlist p1 on 2026-11-20: replaced by {uris['later']})" in out
    assert f"quarantined: {uris['bad']}  (not_gzip: " in out


def test_a_back_dated_object_is_named_with_how_to_reprocess_it(
    lake: tuple[Path, dict[str, str]], capsys: pytest.CaptureFixture[str]
) -> None:
    root, _ = lake
    backfill = _land(root / "raw", _observation("p3", datetime(2026, 11, 1, 3, 0, 5, tzinfo=UTC), "t9"))
    _set_mtime(backfill, datetime(2026, 11, 1, 3, 0, 5, tzinfo=UTC))  # copied with its times: below the mark
    fresh = _land(root / "raw", _observation("p4", DAY1, "t8"))
    _set_mtime(fresh, datetime(2099, 1, 1, tzinfo=UTC))  # newer than the mark: the next run reads it

    code, out, _ = _audit(root, capsys)

    assert _statuses(root)[backfill] == "hidden"
    assert _statuses(root)[fresh] == "pending"
    assert code == 1
    lines = out.splitlines()
    assert "        1  pending (newer than the bookmark: the next transform reads them)" in lines
    assert "        1  HIDDEN (below the bookmark's mark, never read)" in lines
    at = lines.index(next(line for line in lines if line.startswith(f"hidden: {backfill}  (never read")))
    assert lines[at + 1 : at + 3] == [
        f"    reprocess: spotify-etl transform --lake {root} --reprocess {backfill}",
        f"    or rewind: spotify-etl bookmark rewind --lake {root} --to 2026-11-01T03:00:04Z",
    ]
    assert lines[-1] == "1 of 6 raw objects NOT accounted for (listed above)"


def test_an_object_both_in_the_tables_and_quarantined_is_reported(
    lake: tuple[Path, dict[str, str]], capsys: pytest.CaptureFixture[str]
) -> None:
    root, uris = lake
    folder = root / "quarantine" / "rejected" / "rejected_date=2026-11-21"
    folder.mkdir(parents=True)
    (folder / "part-0.parquet").write_bytes(
        _parquet(f"SELECT '{uris['other']}' AS source_file, 'not_json' AS reason, 'x' AS detail")
    )

    code, out, _ = _audit(root, capsys)

    assert code == 1
    assert f"in_both: {uris['other']}  (quarantined as not_json: x)" in out.splitlines()


def test_usage_errors_exit_2_in_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _audit(tmp_path / "nowhere", capsys)

    assert (code, out, err) == (2, "", f"spotify-etl audit: no lake folder at {tmp_path / 'nowhere'}\n")


# ---------------------------------------------------------------- S3 (moto)

BUCKET = "lake-bucket"


def _gz(envelope: dict) -> bytes:
    return gzip.compress(json.dumps(envelope).encode())


def _parquet(select: str) -> bytes:
    """The bytes of a Parquet file holding the rows of ``select`` (written by DuckDB)."""
    with duckdb.connect(":memory:") as con, tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "part-0.parquet"
        con.execute(f"COPY ({select}) TO '{path}' (FORMAT parquet)")
        return path.read_bytes()


@pytest.fixture
def s3():
    with mock_aws():
        os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=BUCKET)
        yield client


def test_s3_lake_objects_are_accounted_through_boto3(s3, capsys: pytest.CaptureFixture[str]) -> None:
    prefix = "data"
    raw = f"s3://{BUCKET}/{prefix}/raw/playlists/ingest_date=2026-11-20"
    early, later = f"{raw}/playlist_id=p1/a [1].json.gz", f"{raw}/playlist_id=p1/b {{2}}.json.gz"
    bad, lost = f"{raw}/playlist_id=p9/c%41.json.gz", f"{raw}/playlist_id=p5/d.json.gz"
    put = {
        early: _gz(_observation("p1", DAY1, "t1")),
        later: _gz(_observation("p1", DAY1.replace(hour=15), "t2")),
        bad: b"not gzip",
        lost: _gz(_observation("p5", DAY1, "t5")),
        f"{raw}/_temporary/x.json.gz": b"hidden by name",
        f"s3://{BUCKET}/{prefix}/curated/playlist_snapshots/snapshot_date=2026-11-20/part-0.parquet": _parquet(
            f"SELECT 'p1' AS playlist_id, TIMESTAMP '2026-11-20 15:00:05' AS extracted_at, '{later}' AS source_file"
        ),
        f"s3://{BUCKET}/{prefix}/quarantine/rejected/rejected_date=2026-11-20/part-0.parquet": _parquet(
            f"SELECT '{bad}' AS source_file, 'not_gzip' AS reason, 'first bytes 6e6f74' AS detail"
        ),
    }
    for uri, data in put.items():
        s3.put_object(Bucket=BUCKET, Key=uri.removeprefix(f"s3://{BUCKET}/"), Body=data)

    ledger = build_ledger(S3LakeStore(f"s3://{BUCKET}/{prefix}", client=s3), None, 15 * 60 * 1000)
    code, out, _ = _audit(f"s3://{BUCKET}/{prefix}", capsys)

    assert {e.obj.uri: e.status for e in ledger.entries} == {
        early: "superseded",
        later: "in_tables",
        bad: "quarantined",
        lost: "unaccounted",
    }
    assert code == 1
    assert out.splitlines()[-4:] == [
        f"unaccounted: {lost}  (in no table and not quarantined)",
        f"    re-upload: aws s3 cp '{lost}' '{lost}' --metadata-directive REPLACE   (then run the job)",
        out.splitlines()[-2],
        "1 of 4 raw objects NOT accounted for (listed above)",
    ]
    assert out.splitlines()[-2].startswith(
        "    or rewind: aws glue reset-job-bookmark --job-name spotify-transform-playlists --run-id <a run before "
    )


def test_an_unknown_bucket_exits_2(s3, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _audit("s3://no-such-bucket/x", capsys)

    assert (code, out) == (2, "")
    assert err.startswith("spotify-etl audit: cannot list s3://no-such-bucket/x/curated/")
    assert err.count("\n") == 1
