"""The extractor: real spotipy over HTTP against the simulator on 127.0.0.1 (nothing patched)."""

from __future__ import annotations

import gzip
import hashlib
import json
import logging
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from extract_lambda.extractor import (
    ExtractReport,
    ExtractSettings,
    extract_playlists,
    normalize_playlist_id,
    track_artist_ids,
)
from spotify_etl.cli import main as cli_main
from spotify_etl.local_extract import LocalLander
from spotify_etl.simulator.server import SimulatorServer
from spotify_etl.simulator.world import (
    DEFAULT_PLAYLIST_IDS,
    EDITORIAL_PLAYLIST_ID,
    FOREIGN_PLAYLIST_INDEX,
    ChartWorld,
    playlist_id_for,
)
from tests.simulated_api import AT, DAY0, extract, read_envelope, serving

OWN = DEFAULT_PLAYLIST_IDS[0]
FOREIGN = DEFAULT_PLAYLIST_IDS[FOREIGN_PLAYLIST_INDEX]


@pytest.fixture(scope="module")
def server() -> Iterator[SimulatorServer]:
    yield from serving(ChartWorld(seed=7, start=DAY0))


@pytest.fixture(autouse=True)
def _reset(server: SimulatorServer) -> Iterator[None]:
    server.clear_requests()
    yield
    server.dev_mode = False
    server.legacy_shape = False
    server.clear_faults()
    server.set_day(DAY0)


def run(server, tmp_path, *playlist_ids, sleeps=None, **options) -> ExtractReport:
    sleep = sleeps.append if sleeps is not None else time.sleep
    return extract(server, tmp_path, *playlist_ids, sleep=sleep, **options)


def landed_ids(report: ExtractReport) -> list[str]:
    return [p.playlist_id for p in report.landed]


def is_batch(path: str) -> bool:
    return path.rstrip("/") == "/v1/artists"  # spotipy asks for /v1/artists/?ids=...


def single_artist_id(path: str) -> str | None:
    parts = path.strip("/").split("/")
    return parts[2] if len(parts) == 3 and parts[1] == "artists" else None


def failure(report: ExtractReport, playlist_id: str) -> tuple[str, str]:
    [(reason, message)] = [(f.reason, f.message) for f in report.failed if f.playlist_id == playlist_id]
    return reason, message


# ------------------------------------------------------------------------------------------ contract


def test_landed_object_is_exactly_the_envelope_at_the_contract_key(server, tmp_path):
    report = run(server, tmp_path, OWN)
    assert report.ok and report.failed == []
    [landed] = report.landed
    playlist, items, artists = server.world.observe(OWN, DAY0)
    digest = hashlib.sha256(playlist["snapshot_id"].encode()).hexdigest()[:12]
    key = f"playlists/ingest_date=2026-11-01/playlist_id={OWN}/20261101T030005Z-{digest}.json.gz"
    assert (tmp_path / "raw" / key).is_file()
    assert landed == (OWN, f"file://{(tmp_path / 'raw' / key).resolve()}", True, 100, 2)
    expected = {
        "schema_version": 1,
        "extracted_at": "2026-11-01T03:00:05Z",
        "market": "US",
        "api": {"base_url": server.api_base_url, "auth_flow": "client_credentials"},
        "playlist": {**playlist, "href": f"{server.api_base_url}playlists/{OWN}"},
        "items": items,
        "artists": artists,
        "artists_fetched_at": {a["id"]: "2026-11-01T03:00:05Z" for a in artists},
    }
    assert read_envelope(landed.uri) == expected
    # Get Playlist asked for the playlist's own fields only: no first page of items to throw away; once
    # before the pages and once after them (the same snapshot_id: one version)
    get_playlist = [r for r in server.requests if r.path == f"/v1/playlists/{OWN}"]
    assert len(get_playlist) == 2
    assert all("items" not in r.query["fields"][0].split(",") for r in get_playlist)
    # the odd items survive verbatim: duplicate, local file, episode, unavailable
    assert [e["item"] is None for e in expected["items"][-4:]] == [False, False, False, True]


def test_legacy_shape_is_accepted_and_kept_verbatim(server, tmp_path):
    server.legacy_shape = True
    report = run(server, tmp_path, DEFAULT_PLAYLIST_IDS[1])
    [landed] = report.landed
    envelope = read_envelope(landed.uri)
    _, items, artists = server.world.observe(DEFAULT_PLAYLIST_IDS[1], DAY0)
    legacy_items = [{("track" if k == "item" else k): v for k, v in e.items()} for e in items]
    assert envelope["items"] == legacy_items
    assert "tracks" not in envelope["playlist"] and "items" not in envelope["playlist"]
    assert envelope["artists"] == artists  # artists found under the older 'track' key


@pytest.mark.parametrize(("size", "pages"), [(0, 1), (1, 1), (50, 1), (51, 2), (120, 3)])
def test_paging(size, pages, tmp_path):
    world = ChartWorld(seed=3, start=DAY0, playlist_sizes=(size,), specials=False)
    pid = playlist_id_for(0)
    with SimulatorServer(world) as sim:
        report = run(sim, tmp_path, pid)
        offsets = [r.query.get("offset", ["?"])[0] for r in sim.requests if r.path.endswith("/items")]
        limits = {r.query["limit"][0] for r in sim.requests if r.path.endswith("/items")}
    [landed] = report.landed
    assert (landed.items, landed.pages) == (size, pages)
    assert offsets == [str(50 * i) for i in range(pages)]
    assert limits == {"50"}
    envelope = read_envelope(landed.uri)
    assert envelope["items"] == world.observe(pid, DAY0)[1]


# ------------------------------------------------------------------------------------------ errors


def test_editorial_playlist_404_names_the_2024_cutoff_and_others_land(server, tmp_path):
    report = run(server, tmp_path, EDITORIAL_PLAYLIST_ID, OWN, DEFAULT_PLAYLIST_IDS[1])
    assert landed_ids(report) == [OWN, DEFAULT_PLAYLIST_IDS[1]]
    reason, message = failure(report, EDITORIAL_PLAYLIST_ID)
    assert reason == "not_found"
    assert "editorial and algorithmic playlists" in message and "2024-11-27" in message
    assert not report.ok
    assert f"{EDITORIAL_PLAYLIST_ID}: not_found" in report.summary()


def test_dev_mode_user_token_403_on_foreign_playlist_and_others_land(server, tmp_path):
    server.dev_mode = True
    report = run(server, tmp_path, FOREIGN, OWN, refresh_token=server.refresh_token)
    assert landed_ids(report) == [OWN]
    reason, message = failure(report, FOREIGN)
    assert reason == "forbidden"
    assert "owns or collaborates on" in message and "neither owns nor collaborates" in message
    envelope = read_envelope(report.landed[0].uri)
    assert envelope["api"]["auth_flow"] == "refresh_token"
    assert "popularity" not in envelope["items"][0]["item"]  # Development Mode strips it


def test_dev_mode_client_credentials_403_says_use_a_refresh_token(server, tmp_path):
    server.dev_mode = True
    report = run(server, tmp_path, OWN, DEFAULT_PLAYLIST_IDS[1])
    assert report.landed == []
    for pid in (OWN, DEFAULT_PLAYLIST_IDS[1]):
        reason, message = failure(report, pid)
        assert reason == "forbidden"
        assert "client-credentials tokens carry no user" in message and "SPOTIFY_REFRESH_TOKEN" in message


def test_bad_client_secret_is_unauthorized_with_what_to_check(server, tmp_path):
    report = run(server, tmp_path, OWN, client_secret="wrong-secret-value")
    reason, message = failure(report, OWN)
    assert reason == "unauthorized"
    assert "invalid_client" in message and "client id and client secret" in message


def test_revoked_refresh_token_is_unauthorized(server, tmp_path):
    report = run(server, tmp_path, OWN, refresh_token="revoked-refresh-token")
    reason, message = failure(report, OWN)
    assert reason == "unauthorized"
    assert "invalid_grant" in message and "authorize the app again" in message


def test_api_401_on_one_playlist_and_others_land(server, tmp_path):
    server.inject_fault(rf"/playlists/{OWN}$", 401, message="The access token expired")
    report = run(server, tmp_path, OWN, DEFAULT_PLAYLIST_IDS[1])
    assert landed_ids(report) == [DEFAULT_PLAYLIST_IDS[1]]
    reason, message = failure(report, OWN)
    assert reason == "unauthorized"
    assert "The access token expired" in message and "client id and secret" in message


def test_429_longer_than_the_time_left_fails_without_waiting_and_others_land(server, tmp_path):
    server.inject_fault(rf"/playlists/{OWN}/items", 429, retry_after=3600)
    sleeps: list[float] = []
    report = run(server, tmp_path, OWN, DEFAULT_PLAYLIST_IDS[1], deadline_s=30, sleeps=sleeps)
    assert landed_ids(report) == [DEFAULT_PLAYLIST_IDS[1]]
    reason, message = failure(report, OWN)
    assert reason == "rate_limited"
    assert "wait 3600 s (Retry-After)" in message and "before the deadline" in message
    assert sleeps == []
    assert [r.status for r in server.requests if r.path == f"/v1/playlists/{OWN}/items"] == [429]


def test_429_within_the_time_left_waits_retry_after_then_lands(server, tmp_path):
    server.inject_fault(rf"/playlists/{OWN}/items", 429, retry_after=2, times=2)
    sleeps: list[float] = []
    report = run(server, tmp_path, OWN, sleeps=sleeps)
    assert landed_ids(report) == [OWN]
    assert sleeps == [2.0, 2.0]
    assert [r.status for r in server.requests if r.path == f"/v1/playlists/{OWN}/items"] == [
        429,
        429,
        200,
        200,
    ]


def test_5xx_is_retried_with_backoff(server, tmp_path):
    server.inject_fault(rf"/playlists/{OWN}$", 503, times=2)
    sleeps: list[float] = []
    report = run(server, tmp_path, OWN, sleeps=sleeps)
    assert landed_ids(report) == [OWN]
    assert sleeps == [0.5, 1.0]


def test_persistent_5xx_gives_up_and_others_land(server, tmp_path):
    server.inject_fault(rf"/playlists/{OWN}/items", 502, times=100)
    sleeps: list[float] = []
    report = run(server, tmp_path, OWN, DEFAULT_PLAYLIST_IDS[1], sleeps=sleeps)
    assert landed_ids(report) == [DEFAULT_PLAYLIST_IDS[1]]
    reason, message = failure(report, OWN)
    assert (reason, message) == (
        "server_error",
        f"Spotify answered 502 on GET /playlists/{OWN}/items 4 times in a row: gave up",
    )
    assert sleeps == [0.5, 1.0, 2.0]


def test_backoff_that_would_pass_the_deadline_is_not_slept(server, tmp_path):
    server.inject_fault(rf"/playlists/{OWN}$", 500, times=100)
    sleeps: list[float] = []
    report = run(server, tmp_path, OWN, deadline_s=5, sleeps=sleeps, backoff_seconds=30.0)
    reason, message = failure(report, OWN)
    assert reason == "deadline" and "too few to retry" in message
    assert sleeps == []


def test_unreachable_api_is_a_connection_failure(tmp_path):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again before use: connection refused
    settings = ExtractSettings(
        playlist_ids=(OWN,),
        client_id="id",
        client_secret="secret-xyz",
        api_base_url=f"http://127.0.0.1:{port}/v1/",
        token_url=f"http://127.0.0.1:{port}/api/token",
        requests_timeout=2.0,
    )
    sleeps: list[float] = []
    report = extract_playlists(
        settings, LocalLander(tmp_path), now=lambda: AT, deadline=time.monotonic() + 30, sleep=sleeps.append
    )
    reason, message = failure(report, OWN)
    assert reason == "connection" and "after 4 attempts: ConnectionError" in message
    assert sleeps == [0.5, 1.0, 2.0]


def test_a_silent_token_endpoint_times_out_instead_of_hanging(tmp_path):
    with socket.socket() as silent:  # accepts connections (kernel backlog) and never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        port = silent.getsockname()[1]
        settings = ExtractSettings(
            playlist_ids=(OWN,),
            client_id="id",
            client_secret="secret-xyz",
            api_base_url=f"http://127.0.0.1:{port}/v1/",
            token_url=f"http://127.0.0.1:{port}/api/token",
            requests_timeout=0.5,
        )
        sleeps: list[float] = []
        report = extract_playlists(
            settings,
            LocalLander(tmp_path),
            now=lambda: AT,
            deadline=time.monotonic() + 30,
            sleep=sleeps.append,
        )
    reason, message = failure(report, OWN)
    assert (reason, message) == (
        "connection",
        f"could not reach Spotify for GET /playlists/{OWN} after 4 attempts: ReadTimeout",
    )


def test_deadline_already_passed_fetches_nothing(server, tmp_path):
    report = run(server, tmp_path, OWN, DEFAULT_PLAYLIST_IDS[1], deadline_s=-1)
    assert [(f.playlist_id, f.reason) for f in report.failed] == [
        (OWN, "deadline"),
        (DEFAULT_PLAYLIST_IDS[1], "deadline"),
    ]
    assert server.requests == []
    assert not (tmp_path / "raw").exists()


# ------------------------------------------------------------------------------------------ enrichment


def test_batch_artists_in_chunks_of_at_most_50(server, tmp_path):
    report = run(server, tmp_path, OWN, DEFAULT_PLAYLIST_IDS[1])
    batches = [r.query["ids"][0].split(",") for r in server.requests if is_batch(r.path)]
    singles = [r for r in server.requests if single_artist_id(r.path)]
    assert singles == []
    assert all(1 <= len(b) <= 50 for b in batches)
    fetched = [a for b in batches for a in b]
    assert len(fetched) == len(set(fetched)) == report.artists_fetched
    envelopes = [read_envelope(p.uri) for p in report.landed]
    assert set(fetched) == {a for e in envelopes for a in track_artist_ids(e["items"])}


def test_batch_403_falls_back_to_single_artists_each_fetched_once(server, tmp_path):
    server.dev_mode = True
    report = run(
        server,
        tmp_path,
        OWN,
        DEFAULT_PLAYLIST_IDS[1],
        DEFAULT_PLAYLIST_IDS[2],
        refresh_token=server.refresh_token,
    )
    assert landed_ids(report) == [OWN, DEFAULT_PLAYLIST_IDS[1], DEFAULT_PLAYLIST_IDS[2]]
    batch = [r.status for r in server.requests if is_batch(r.path)]
    assert batch == [403]  # tried once, then never again this run
    singles = Counter(a for r in server.requests if (a := single_artist_id(r.path)))
    assert set(singles.values()) == {1}
    envelopes = [read_envelope(p.uri) for p in report.landed]
    wanted = [track_artist_ids(e["items"]) for e in envelopes]
    assert set(singles) == {a for ids in wanted for a in ids}
    assert len(set(wanted[0]) & set(wanted[1])) > 0  # shared artists exist, and were not fetched again
    for envelope, ids in zip(envelopes, wanted, strict=True):
        assert [a["id"] for a in envelope["artists"]] == ids
        assert all("genres" in a and "popularity" not in a for a in envelope["artists"])


# ------------------------------------------------------------------------------------------ incremental


def test_a_run_repeated_at_the_same_instant_does_not_overwrite(server, tmp_path):
    first = run(server, tmp_path, OWN, DEFAULT_PLAYLIST_IDS[1])
    paths = [Path(p.uri.removeprefix("file://")) for p in first.landed]
    before = [(p.stat().st_ino, p.read_bytes()) for p in paths]
    second = run(server, tmp_path, OWN, DEFAULT_PLAYLIST_IDS[1])
    assert [(p.playlist_id, p.created) for p in first.landed] == [
        (OWN, True),
        (DEFAULT_PLAYLIST_IDS[1], True),
    ]
    assert [(p.playlist_id, p.uri, p.created) for p in second.landed] == [
        (p.playlist_id, p.uri, False) for p in first.landed
    ]
    assert [(p.stat().st_ino, p.read_bytes()) for p in paths] == before
    assert "0 new objects, 2 already present" in second.summary()


def test_next_day_lands_a_new_partition(server, tmp_path):
    run(server, tmp_path, OWN)
    server.set_day(date(2026, 11, 2))
    report = run(server, tmp_path, OWN, at=datetime(2026, 11, 2, 3, 0, 5, tzinfo=UTC))
    assert f"/ingest_date=2026-11-02/playlist_id={OWN}/20261102T030005Z-" in report.landed[0].uri
    objects = sorted(
        p.relative_to(tmp_path / "raw").as_posix() for p in (tmp_path / "raw").rglob("*.json.gz")
    )
    assert [o.split("/")[1] for o in objects] == ["ingest_date=2026-11-01", "ingest_date=2026-11-02"]


# ------------------------------------------------------------------------------------------ logs, secrets, CLI


def test_one_json_log_line_per_playlist(server, tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="extract_lambda")
    run(server, tmp_path, OWN, EDITORIAL_PLAYLIST_ID)
    logged = [json.loads(r.getMessage()) for r in caplog.records if r.name == "extract_lambda.extractor"]
    events = {e["playlist_id"]: e for e in logged}  # playlists run concurrently: any order
    assert len(logged) == 2
    assert (events[OWN]["event"], events[EDITORIAL_PLAYLIST_ID]["event"]) == (
        "playlist_landed",
        "playlist_failed",
    )
    assert (events[OWN]["items"], events[OWN]["pages"], events[OWN]["artists_fetched"]) == (100, 2, 84)
    assert (
        isinstance(events[OWN]["seconds"], float) and events[EDITORIAL_PLAYLIST_ID]["reason"] == "not_found"
    )


def test_cli_lands_and_exits_nonzero_naming_failures_without_leaking_secrets(
    server, tmp_path, monkeypatch, capsys, caplog
):
    caplog.set_level(logging.DEBUG)
    server.dev_mode = True
    for name, value in server.env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("SPOTIFY_REFRESH_TOKEN", server.refresh_token)
    code = cli_main(
        ["extract", "--lake", str(tmp_path), "--playlist", OWN, "--playlist", FOREIGN,
         "--playlist", f"spotify:playlist:{EDITORIAL_PLAYLIST_ID}", "--log-level", "DEBUG"]
    )  # fmt: skip
    out, err = capsys.readouterr()
    assert code == 1
    assert f"- {FOREIGN}: forbidden (permanent):" in out
    assert f"- {EDITORIAL_PLAYLIST_ID}: not_found (permanent):" in out
    assert f"{OWN}: landed, 100 items in 2 pages" in out
    assert len(list((tmp_path / "raw").rglob("*.json.gz"))) == 1
    landed_bytes = b"".join(gzip.decompress(p.read_bytes()) for p in (tmp_path / "raw").rglob("*.json.gz"))
    secrets = [server.client_secret, server.refresh_token, *server.issued_tokens]
    assert len(server.issued_tokens) >= 1
    for secret in secrets:
        assert secret not in out and secret not in err and secret not in caplog.text
        assert secret.encode() not in landed_bytes
    assert any(
        json.loads(line).get("event") == "playlist_failed"
        for line in err.splitlines()
        if line.startswith("{")
    )


def test_cli_exit_codes(server, tmp_path, monkeypatch, capsys):
    for name, value in server.env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("SPOTIFY_REFRESH_TOKEN", raising=False)
    assert cli_main(["extract", "--lake", str(tmp_path), "--playlist", OWN]) == 0
    monkeypatch.delenv("SPOTIFY_CLIENT_SECRET")
    assert cli_main(["extract", "--lake", str(tmp_path), "--playlist", OWN]) == 2
    assert "missing SPOTIFY_CLIENT_SECRET" in capsys.readouterr().err


def test_settings_validate_and_hide_secrets():
    settings = ExtractSettings(
        playlist_ids=(f"https://open.spotify.com/playlist/{OWN}?si=abc", FOREIGN, f"spotify:playlist:{OWN}"),
        client_id="i",
        client_secret="s3cr3t-value",
    )
    assert settings.playlist_ids == (OWN, FOREIGN)
    assert "s3cr3t-value" not in repr(settings)
    with pytest.raises(ValueError, match=r"page_limit must be 1\.\.50"):
        ExtractSettings(playlist_ids=(OWN,), client_id="i", client_secret="s", page_limit=100)
    with pytest.raises(ValueError, match=r"not a Spotify playlist id, URI or URL: 'top 50'"):
        normalize_playlist_id("top 50")
    assert normalize_playlist_id(f"spotify:playlist:{OWN}") == OWN


def test_extract_lambda_imports_neither_pyspark_nor_spotify_etl():
    code = (
        "import sys, extract_lambda.handler, extract_lambda.extractor;"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('pyspark', 'spotify_etl'));"
        "print(bad); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
