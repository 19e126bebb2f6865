"""The Lambda handler: moto for S3 and Secrets Manager, real spotipy against the simulator on 127.0.0.1."""

from __future__ import annotations

import gzip
import hashlib
import json
import logging
from collections.abc import Iterator
from datetime import date

import boto3
import pytest
from moto import mock_aws

from extract_lambda.handler import (
    ENV_VARS,
    REQUIRED_ENV_VARS,
    ConfigError,
    ExtractFailedError,
    handler,
    playlist_ids_from,
)
from extract_lambda.landing import S3Lander
from spotify_etl.simulator.server import SimulatorServer
from spotify_etl.simulator.world import DEFAULT_PLAYLIST_IDS, EDITORIAL_PLAYLIST_ID, ChartWorld

BUCKET = "spotify-lake-raw-test"
OWN, SECOND = DEFAULT_PLAYLIST_IDS[0], DEFAULT_PLAYLIST_IDS[1]


class FakeContext:
    """The two things the handler reads from a Lambda context."""

    aws_request_id = "test-request"

    def __init__(self, remaining_ms: int = 60_000) -> None:
        self.remaining_ms = remaining_ms

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


@pytest.fixture(scope="module")
def server() -> Iterator[SimulatorServer]:
    with SimulatorServer(ChartWorld(seed=7, start=date(2026, 11, 1))) as sim:
        yield sim


@pytest.fixture
def aws(monkeypatch, server) -> Iterator[dict]:
    for name in ENV_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        s3 = boto3.client("s3")
        s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
        secret = {"client_id": server.client_id, "client_secret": server.client_secret}
        arn = boto3.client("secretsmanager").create_secret(
            Name="spotify/app", SecretString=json.dumps(secret)
        )["ARN"]
        monkeypatch.setenv("RAW_BUCKET", BUCKET)
        monkeypatch.setenv("SPOTIFY_SECRET_ARN", arn)
        monkeypatch.setenv("PLAYLIST_IDS", f"{OWN}, {SECOND}")
        monkeypatch.setenv("SPOTIFY_API_BASE_URL", server.api_base_url)
        monkeypatch.setenv("SPOTIFY_TOKEN_URL", server.token_url)
        yield {"s3": s3, "arn": arn}


def raw_objects(s3) -> dict[str, dict]:
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])]
    return {
        key: json.loads(gzip.decompress(s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()))
        for key in sorted(keys)
    }


def test_env_var_contract():
    assert ENV_VARS == (
        "RAW_BUCKET",
        "RAW_PREFIX",
        "PLAYLIST_IDS",
        "SPOTIFY_SECRET_ARN",
        "SPOTIFY_MARKET",
        "SPOTIFY_API_BASE_URL",
        "SPOTIFY_TOKEN_URL",
        "LOG_LEVEL",
    )
    assert set(REQUIRED_ENV_VARS) <= set(ENV_VARS)


def test_handler_lands_every_playlist_in_s3(aws, server):
    answer = handler({}, FakeContext())
    assert answer["ok"] is True
    assert [(p["playlist_id"], p["created"], p["items"], p["pages"]) for p in answer["landed"]] == [
        (OWN, True, 100, 2),
        (SECOND, True, 60, 2),
    ]
    objects = raw_objects(aws["s3"])
    keys = [p["uri"].removeprefix(f"s3://{BUCKET}/") for p in answer["landed"]]
    assert sorted(keys) == sorted(objects)
    for key, playlist_id in zip(keys, (OWN, SECOND), strict=True):
        envelope = objects[key]
        stamp = envelope["extracted_at"]  # e.g. 2026-11-22T03:00:05Z
        digest = hashlib.sha256(envelope["playlist"]["snapshot_id"].encode()).hexdigest()[:12]
        compact = stamp.replace("-", "").replace(":", "")
        assert (
            key
            == f"raw/playlists/ingest_date={stamp[:10]}/playlist_id={playlist_id}/{compact}-{digest}.json.gz"
        )
        assert envelope["playlist"]["id"] == playlist_id
    own = objects[keys[0]]
    assert (own["schema_version"], own["market"], own["api"]) == (
        1,
        "US",
        {"base_url": server.api_base_url, "auth_flow": "client_credentials"},
    )
    _, world_items, world_artists = server.world.observe(OWN, server.day)
    assert own["items"] == world_items and own["artists"] == world_artists


def test_event_overrides_playlist_ids_and_failures_raise_after_landing(aws, server, caplog):
    caplog.set_level(logging.INFO)
    with pytest.raises(ExtractFailedError) as raised:
        handler({"playlist_ids": [EDITORIAL_PLAYLIST_ID, SECOND]}, FakeContext())
    message = str(raised.value)
    assert f"{EDITORIAL_PLAYLIST_ID}: not_found" in message and "2024-11-27" in message
    assert "extracted 1 of 2 playlists" in message
    assert [o["playlist"]["id"] for o in raw_objects(aws["s3"]).values()] == [SECOND]
    assert server.client_secret not in caplog.text and server.client_secret not in message


def test_refresh_token_from_the_secret_selects_the_user_flow(aws, server, monkeypatch):
    secret = {
        "client_id": server.client_id,
        "client_secret": server.client_secret,
        "refresh_token": server.refresh_token,
    }
    arn = boto3.client("secretsmanager").create_secret(Name="spotify/user", SecretString=json.dumps(secret))[
        "ARN"
    ]
    monkeypatch.setenv("SPOTIFY_SECRET_ARN", arn)
    monkeypatch.setenv("RAW_PREFIX", "bronze/spotify")
    monkeypatch.setenv("SPOTIFY_MARKET", "SE")
    handler({"playlist_ids": [OWN]}, FakeContext())
    [(key, envelope)] = raw_objects(aws["s3"]).items()
    assert key.startswith("bronze/spotify/playlists/ingest_date=")
    assert (envelope["api"]["auth_flow"], envelope["market"]) == ("refresh_token", "SE")


def test_missing_environment_is_named(aws, monkeypatch):
    monkeypatch.delenv("RAW_BUCKET")
    with pytest.raises(ConfigError, match="missing environment variables: RAW_BUCKET"):
        handler({}, FakeContext())


def test_bad_secret_is_named_without_its_values(aws, monkeypatch):
    arn = boto3.client("secretsmanager").create_secret(
        Name="spotify/partial",
        SecretString=json.dumps({"client_id": "abc", "client_secrett": "hunter2-typo"}),
    )["ARN"]
    monkeypatch.setenv("SPOTIFY_SECRET_ARN", arn)
    with pytest.raises(ConfigError) as raised:
        handler({}, FakeContext())
    assert "lacks client_secret" in str(raised.value) and arn in str(raised.value)
    assert "hunter2-typo" not in str(raised.value)
    monkeypatch.setenv("SPOTIFY_SECRET_ARN", arn + "-nope")
    with pytest.raises(ConfigError, match="cannot read secret"):
        handler({}, FakeContext())


def test_playlist_ids_from_event_or_env():
    assert playlist_ids_from({"playlist_ids": [f"spotify:playlist:{OWN}"]}, {"PLAYLIST_IDS": SECOND}) == (
        OWN,
    )
    assert playlist_ids_from({"detail-type": "Scheduled Event"}, {"PLAYLIST_IDS": f" {OWN},,{SECOND} "}) == (
        OWN,
        SECOND,
    )
    with pytest.raises(ConfigError, match="no playlist ids"):
        playlist_ids_from({}, {})
    with pytest.raises(ConfigError, match=r"event playlist_ids: not a Spotify playlist id"):
        playlist_ids_from({"playlist_ids": ["bad id!"]}, {})


def test_s3_lander_never_overwrites(aws):
    lander = S3Lander(aws["s3"], BUCKET, "raw/")
    first = lander.land("playlists/x.json.gz", b"first")
    second = lander.land("playlists/x.json.gz", b"second")
    assert (first.created, second.created, first.uri) == (
        True,
        False,
        f"s3://{BUCKET}/raw/playlists/x.json.gz",
    )
    assert aws["s3"].get_object(Bucket=BUCKET, Key="raw/playlists/x.json.gz")["Body"].read() == b"first"
