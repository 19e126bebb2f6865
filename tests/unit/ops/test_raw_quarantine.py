"""``spotify-etl quarantine-raw``: the objects Glue cannot decode leave raw/ for the quarantine with their reason
(moto S3, which keeps versions and metadata as S3 documents); the days probed are bounded by ``--since``; and the
Glue job's failure line names what the error names."""

from __future__ import annotations

import gzip
from datetime import date

import boto3
import pytest
from moto import mock_aws

from spotify_etl.cli import main
from spotify_etl.ops.raw_quarantine import QuarantineError, S3Lake, candidate_keys, probe
from spotify_etl.runtime.glue import named_objects, read_failure_message

BUCKET = "lake-data"
DAY = "raw/playlists/ingest_date=2026-12-02/playlist_id=p1"
OLD = "raw/playlists/ingest_date=2026-11-01/playlist_id=p1"


def _gz(data: bytes) -> bytes:
    """A gzip stream with a fixed header time, so parametrized ids are the same in every pytest-xdist worker."""
    return gzip.compress(data, mtime=0)


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"", ("empty", "the object has 0 bytes")),
        (_gz(b""), ("empty", "the gzip stream holds no line")),
        (_gz(b" \n\n"), ("empty", "the gzip stream holds no line")),
        (b"hello", ("not_gzip", "first bytes 6865 are not the gzip magic 1f8b (docs/design.md s.2)")),
        (
            _gz(b'{"a": 1}\n' * 1000)[:30],
            ("not_gzip", "gzip stream is truncated (it ends before its end-of-stream marker)"),
        ),
        (_gz(b'{"a": 1}\n'), None),
        (_gz(b"not json, but gzip\n"), None),  # readable: the transform quarantines it as not_json
    ],
    ids=[
        "zero_bytes",
        "gzip_of_nothing",
        "gzip_of_blank_lines",
        "plain_text",
        "truncated_gzip",
        "json_line",
        "text_line",
    ],
)
def test_probe_names_what_glue_cannot_read(data, expected):
    assert probe(data) == expected


def test_a_corrupt_deflate_stream_is_not_gzip():
    data = bytearray(gzip.compress(b"x" * 1000))
    data[12:20] = b"\xff" * 8
    reason, detail = probe(bytes(data)) or ("", "")
    assert (reason, detail.split(" (")[0]) == ("not_gzip", "gzip stream is corrupt")


@pytest.fixture
def s3():
    with mock_aws():
        client = boto3.client("s3", region_name="eu-west-1")
        client.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
        client.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
        objects = {
            f"{DAY}/good.json.gz": gzip.compress(b'{"schema_version": 1}\n'),
            f"{DAY}/zero [1] $x.json.gz": b"",
            f"{DAY}/truncated.json.gz": gzip.compress(b'{"a": 1}\n' * 500)[:30],
            f"{DAY}/_hidden.json.gz": b"",
            f"{OLD}/old-truncated.json.gz": gzip.compress(b'{"a": 1}\n' * 500)[:30],
        }
        for key, body in objects.items():
            client.put_object(Bucket=BUCKET, Key=key, Body=body)
        yield client


def _keys(client, prefix: str) -> list[str]:
    return sorted(o["Key"] for o in client.list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("Contents", []))


def test_since_moves_the_undecodable_objects_of_those_days_only(s3, monkeypatch, capsys):
    monkeypatch.setattr("boto3.client", lambda *_a, **_k: s3)

    assert main(["quarantine-raw", "--lake", f"s3://{BUCKET}", "--since", "2026-12-01"]) == 0

    assert _keys(s3, "raw/") == [  # the older day is not probed: its bad object stays
        f"{OLD}/old-truncated.json.gz",
        f"{DAY}/_hidden.json.gz",
        f"{DAY}/good.json.gz",
    ]
    moved = "quarantine/objects/playlists/ingest_date=2026-12-02/playlist_id=p1"
    assert _keys(s3, "quarantine/") == [f"{moved}/truncated.json.gz", f"{moved}/zero [1] $x.json.gz"]
    head = s3.head_object(Bucket=BUCKET, Key=f"{moved}/zero [1] $x.json.gz")
    assert head["Metadata"] == {"reason": "empty", "detail": "the object has 0 bytes"}
    assert s3.head_object(Bucket=BUCKET, Key=f"{moved}/truncated.json.gz")["Metadata"]["reason"] == "not_gzip"
    out = capsys.readouterr().out
    assert out.splitlines()[-1] == "probed 3 raw object(s); 2 undecodable, moved"


def test_named_uris_are_probed_exactly_and_a_dry_run_moves_nothing(s3, monkeypatch, capsys):
    monkeypatch.setattr("boto3.client", lambda *_a, **_k: s3)
    uris = [f"s3://{BUCKET}/{OLD}/old-truncated.json.gz", f"s3://{BUCKET}/{DAY}/good.json.gz"]

    assert main(["quarantine-raw", "--lake", f"s3://{BUCKET}", "--dry-run", *uris]) == 0

    assert capsys.readouterr().out.splitlines() == [
        f"{uris[0]} (dry run: not moved) (not_gzip: gzip stream is truncated (it ends before its end-of-stream "
        "marker))",
        "probed 2 raw object(s); 1 undecodable",
    ]
    assert _keys(s3, "quarantine/") == []


def test_arguments_that_name_nothing_are_one_line_and_exit_2(s3, monkeypatch, capsys):
    monkeypatch.setattr("boto3.client", lambda *_a, **_k: s3)
    lake = S3Lake(f"s3://{BUCKET}", s3)

    with pytest.raises(QuarantineError, match="give --since DATE or the URIs"):
        candidate_keys(lake, [], None, date(2026, 12, 2))
    with pytest.raises(QuarantineError, match="more than 366 days back"):
        candidate_keys(lake, [], date(2020, 1, 1), date(2026, 12, 2))
    assert main(["quarantine-raw", "--lake", "lake", "--since", "2026-12-01"]) == 2
    assert capsys.readouterr().err == "ERROR: 'lake' is not s3://bucket[/prefix]\n"
    assert main(["quarantine-raw", "--lake", f"s3://{BUCKET}", "s3://elsewhere/raw/playlists/x.json.gz"]) == 2
    assert capsys.readouterr().err == (
        f"ERROR: s3://elsewhere/raw/playlists/x.json.gz is not a raw object of s3://{BUCKET} "
        f"(under s3://{BUCKET}/raw/playlists/)\n"
    )


def test_the_glue_failure_line_names_the_objects_the_error_names():
    raw = "s3://lake-data/raw"
    error = RuntimeError(
        "An error occurred while calling o93.toDF.\n: java.io.EOFException: Unexpected end of input stream\n"
        f"\tat reading {raw}/playlists/ingest_date=2026-12-02/playlist_id=p1/odd [1] $x.json.gz at offset 0\n"
        f"\tagain {raw}/playlists/ingest_date=2026-12-02/playlist_id=p1/odd [1] $x.json.gz"
    )

    assert named_objects(str(error), raw) == [
        f"{raw}/playlists/ingest_date=2026-12-02/playlist_id=p1/odd [1] $x.json.gz"
    ]
    message = read_failure_message(error, raw, date(2026, 12, 3))
    assert "\n" not in message
    assert message == (
        "the bookmarked read of raw/ failed (RuntimeError: An error occurred while calling o93.toDF.); objects named "
        f"by the error: {raw}/playlists/ingest_date=2026-12-02/playlist_id=p1/odd [1] $x.json.gz; nothing was "
        "written and the bookmark did not move. Move the objects Glue cannot read to the quarantine, then run the "
        "job again: spotify-etl quarantine-raw --lake s3://lake-data --since 2026-12-02 (docs/transform.md, "
        "'A raw object Glue cannot read')"
    )
