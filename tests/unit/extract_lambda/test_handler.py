"""The Lambda handler: moto for S3 and Secrets Manager, real spotipy against the simulator on 127.0.0.1."""

from __future__ import annotations

import gzip
import hashlib
import json
import logging
import time
from collections.abc import Iterator
from types import SimpleNamespace

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
from tests.simulated_api import DAY0, serving

BUCKET = "spotify-lake-raw-test"
OWN, SECOND = DEFAULT_PLAYLIST_IDS[0], DEFAULT_PLAYLIST_IDS[1]


class FakeContext:
    """The two things the handler reads from a Lambda context."""

    def __init__(self, remaining_ms: int = 60_000, request_id: str = "test-request") -> None:
        self.remaining_ms = remaining_ms
        self.aws_request_id = request_id

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


@pytest.fixture(scope="module")
def server() -> Iterator[SimulatorServer]:
    yield from serving(ChartWorld(seed=7, start=DAY0))


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
    keys = [k for k in keys if not k.startswith("_state/")]
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
        "STATE_PREFIX",
        "ARTIST_CACHE_DAYS",
        "METRICS_NAMESPACE",
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


def emf_lines(out: str) -> list[dict]:
    return [d for line in out.splitlines() if line.startswith("{") and "_aws" in (d := json.loads(line))]


def test_permanent_failure_is_reported_and_counted_without_failing_the_invocation(
    aws, server, capsys, caplog
):
    caplog.set_level(logging.INFO)
    answer = handler({"playlist_ids": [EDITORIAL_PLAYLIST_ID, SECOND]}, FakeContext())
    assert answer["ok"] is False
    assert answer["outcomes"] == [
        {"playlist_id": SECOND, "outcome": "landed"},
        {"playlist_id": EDITORIAL_PLAYLIST_ID, "outcome": "failed", "reason": "not_found", "failure_class": "permanent"},
    ]  # fmt: skip
    assert "2024-11-27" in answer["failed"][0]["message"]
    assert [o["playlist"]["id"] for o in raw_objects(aws["s3"]).values()] == [SECOND]
    totals, by_reason = emf_lines(capsys.readouterr().out)
    [directive] = totals["_aws"]["CloudWatchMetrics"]
    assert (directive["Namespace"], directive["Dimensions"]) == ("SpotifyLake/Extract", [[]])
    assert (totals["PermanentFailures"], totals["RetryableFailures"], totals["PlaylistsLanded"]) == (1, 0, 1)
    assert by_reason["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["Reason"]]
    assert (by_reason["Reason"], by_reason["PlaylistFailures"]) == ("not_found", 1)
    assert server.client_secret not in caplog.text


def test_retryable_failure_fails_the_invocation_and_the_retry_extracts_only_what_failed(aws, server, capsys):
    server.inject_fault(rf"/playlists/{SECOND}/items", 503, times=100)
    event = {"id": "eb-event-1", "source": "aws.events", "detail-type": "Scheduled Event"}
    try:
        with pytest.raises(ExtractFailedError) as raised:
            handler(event, FakeContext(request_id="attempt-1"))
    finally:
        server.clear_faults()
    message = str(raised.value)
    assert f"{SECOND}: server_error (retryable)" in message and "extracted 1 of 2 playlists" in message
    assert emf_lines(capsys.readouterr().out)[0]["RetryableFailures"] == 1
    server.clear_requests()
    answer = handler(event, FakeContext(request_id="attempt-2"))  # Lambda's retry: the same event
    assert answer["settled_before"] == {OWN: "landed"}
    assert [p["playlist_id"] for p in answer["landed"]] == [SECOND]
    assert not [r for r in server.requests if r.path.startswith(f"/v1/playlists/{OWN}")]
    assert sorted(o["playlist"]["id"] for o in raw_objects(aws["s3"]).values()) == sorted([OWN, SECOND])


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


def test_rotated_refresh_token_is_stored_in_the_secret_and_used_by_the_next_run(aws, server, caplog, capsys):
    caplog.set_level(logging.DEBUG)
    secrets = boto3.client("secretsmanager")
    first = server.refresh_token
    secret = {"client_id": server.client_id, "client_secret": server.client_secret, "refresh_token": first}
    secrets.put_secret_value(SecretId=aws["arn"], SecretString=json.dumps(secret))
    server.rotate_refresh_tokens = True
    try:
        handler({"playlist_ids": [OWN]}, FakeContext(request_id="day-1"))
        stored = json.loads(secrets.get_secret_value(SecretId=aws["arn"])["SecretString"])
        assert stored == {**secret, "refresh_token": server.refresh_token} and server.refresh_token != first
        second_answer = handler({"playlist_ids": [SECOND]}, FakeContext(request_id="day-2"))
    finally:
        server.rotate_refresh_tokens = False
    assert second_answer["ok"] is True  # the first token is revoked: only the stored one works
    out, err = capsys.readouterr()
    for token in (first, stored["refresh_token"]):
        assert token not in caplog.text and token not in out and token not in err


def test_artist_cache_in_s3_spares_the_next_run_every_artist_call(aws, server):
    handler({"playlist_ids": [OWN]}, FakeContext(request_id="run-1"))
    time.sleep(1.05 - time.time() % 1)  # the next second: keys are to the second
    server.clear_requests()
    answer = handler({"playlist_ids": [OWN]}, FakeContext(request_id="run-2"))
    assert answer["artists_fetched"] == 0 and answer["artists_from_cache"] == 84
    assert not [r for r in server.requests if r.path.startswith("/v1/artists")]
    first, second = raw_objects(aws["s3"]).values()
    assert second["artists"] == first["artists"]
    assert second["artists_fetched_at"] == first["artists_fetched_at"]
    assert set(second["artists_fetched_at"]) == {a["id"] for a in second["artists"]}
    cache_keys = [o["Key"] for o in aws["s3"].list_objects_v2(Bucket=BUCKET, Prefix="_state/")["Contents"]]
    assert sorted(cache_keys) == ["_state/extract/artists.json.gz", "_state/extract/retries.json"]


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


def test_a_rotated_token_the_secret_cannot_take_stops_the_run_alarms_and_the_documented_recovery_works(
    aws, server, capsys
):
    """PutSecretValue refused (AccessDeniedException, as AWS answers a role without the permission)."""
    secrets = boto3.client("secretsmanager")
    first = server.refresh_token
    secret = {"client_id": server.client_id, "client_secret": server.client_secret, "refresh_token": first}
    secrets.put_secret_value(SecretId=aws["arn"], SecretString=json.dumps(secret))
    events = boto3._get_default_session().events  # the session the handler's clients come from

    def deny(**_: object) -> tuple[object, dict]:
        error = {
            "Code": "AccessDeniedException",
            "Message": "not authorized to perform: secretsmanager:PutSecretValue",
        }
        return SimpleNamespace(status_code=400, headers={}), {"Error": error, "ResponseMetadata": {}}

    events.register("before-call.secrets-manager.PutSecretValue", deny)
    server.clear_requests()
    server.rotate_refresh_tokens = True
    try:
        answer = handler({"playlist_ids": [OWN, SECOND]}, FakeContext(request_id="day-1"))
    finally:
        events.unregister("before-call.secrets-manager.PutSecretValue", deny)
    out = capsys.readouterr().out
    # permanent: the invocation succeeds (no Lambda retry with a token that may be revoked), nothing landed
    assert answer["ok"] is False and answer["landed"] == []
    assert {(f["reason"], f["permanent"]) for f in answer["failed"]} == {("token_not_stored", True)}
    [message] = {f["message"] for f in answer["failed"]}
    assert "AccessDeniedException" in message and "Recovery: a rotated refresh token not stored" in message
    [totals] = [json.loads(line) for line in out.splitlines() if '"RefreshTokenNotStored"' in line]
    assert totals["RefreshTokenNotStored"] == 1
    assert json.loads(secrets.get_secret_value(SecretId=aws["arn"])["SecretString"]) == secret  # old kept
    assert [r.path for r in server.requests].count("/api/token") == 1  # no second grant after the failure
    assert raw_objects(aws["s3"]) == {}
    # the simulator revoked the old token on rotation: the next run answers invalid_grant
    with pytest.raises(ExtractFailedError, match="invalid_grant"):
        handler({"playlist_ids": [OWN]}, FakeContext(request_id="day-2"))
    # docs/extract.md's recovery: authorize the app again, put the new refresh token in the secret, run
    try:
        renewed = {**secret, "refresh_token": server.authorize()}
        secrets.put_secret_value(SecretId=aws["arn"], SecretString=json.dumps(renewed))
        recovered = handler({"playlist_ids": [OWN, SECOND]}, FakeContext(request_id="day-3"))
    finally:
        server.rotate_refresh_tokens = False
    assert recovered["ok"] is True and len(recovered["landed"]) == 2
    stored = json.loads(secrets.get_secret_value(SecretId=aws["arn"])["SecretString"])
    assert stored["refresh_token"] == server.refresh_token  # this run's rotation was stored
