"""Issue 12: wall-clock bounds, the artist cache, batch fallback, token rotation, the fields filter.

Real spotipy over HTTP against the simulator on 127.0.0.1 (its trickle fault sends headers at once, then
one body byte every N seconds), a local lake folder for the state.
"""

from __future__ import annotations

import json
import logging
import os
import stat
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from extract_lambda.extractor import ExtractReport
from spotify_etl.cli import main as cli_main
from spotify_etl.simulator.fields import FieldsSyntaxError, apply_fields
from spotify_etl.simulator.server import SimulatorServer
from spotify_etl.simulator.world import DEFAULT_PLAYLIST_IDS, ChartWorld
from tests.simulated_api import AT, DAY0, extract, read_envelope, serving

OWN = DEFAULT_PLAYLIST_IDS[0]
STALLED, HEALTHY = DEFAULT_PLAYLIST_IDS[1], DEFAULT_PLAYLIST_IDS[2]


@pytest.fixture(scope="module")
def server() -> Iterator[SimulatorServer]:
    yield from serving(ChartWorld(seed=7, start=DAY0))


@pytest.fixture(autouse=True)
def _reset(server: SimulatorServer) -> Iterator[None]:
    server.clear_requests()
    yield
    server.clear_faults()
    server.dev_mode = False
    server.rotate_refresh_tokens = False
    server.set_day(DAY0)


def run(server, lake: Path, *ids: str, state=True, **options) -> ExtractReport:
    return extract(server, lake, *ids, keep_state=state, **options)


def artist_requests(server: SimulatorServer) -> list[str]:
    return [r.path for r in server.requests if r.path.startswith("/v1/artists")]


# ------------------------------------------------------------------------------ wall-clock bounds


def test_trickling_playlist_ends_at_the_deadline_named_and_the_playlists_after_it_land(
    server, tmp_path, monkeypatch, capsys
):
    server.inject_trickle(rf"/v1/playlists/{STALLED}$", byte_interval=2.0)
    for name, value in server.env().items():
        monkeypatch.setenv(name, value)
    started = time.monotonic()
    code = cli_main(
        ["extract", "--lake", str(tmp_path), "--deadline-seconds", "6",
         "--playlist", STALLED, "--playlist", OWN, "--playlist", HEALTHY]
    )  # fmt: skip
    elapsed = time.monotonic() - started
    out = capsys.readouterr().out
    assert code == 1
    assert 6 <= elapsed < 9, elapsed  # ends within a few seconds of the deadline
    assert f"- {STALLED}: deadline (retryable): GET /playlists/{STALLED} was still unanswered" in out
    landed = {p.parent.name for p in (tmp_path / "raw").rglob("*.json.gz")}
    assert landed == {f"playlist_id={OWN}", f"playlist_id={HEALTHY}"}


def test_a_request_past_its_cap_is_retried_then_reported_as_stalled(server, tmp_path):
    server.inject_trickle(rf"/v1/playlists/{STALLED}$", byte_interval=1.0)
    started = time.monotonic()
    report = run(server, tmp_path, STALLED, OWN, request_cap_seconds=1.0, max_attempts=2, backoff_seconds=0.1)
    assert time.monotonic() - started < 5
    [failed] = report.failed
    assert (failed.playlist_id, failed.reason) == (STALLED, "stalled")
    assert (
        "did not complete in time 2 times in a row" in failed.message
        and "1 s cap per request" in failed.message
    )
    assert [p.playlist_id for p in report.landed] == [OWN]
    assert [r.status for r in server.requests if r.path == f"/v1/playlists/{STALLED}"] == [200, 200]


# ------------------------------------------------------------------------------ artist cache


def test_cached_artists_are_not_fetched_again_within_the_window_yet_every_observation_carries_them(
    server, tmp_path
):
    first = run(server, tmp_path, OWN)
    day1 = read_envelope(first.landed[0].uri)
    assert first.artists_fetched == 84 and len(artist_requests(server)) == 2  # batches of 50 + 34
    server.clear_requests()
    server.set_day(DAY0 + timedelta(days=1))
    second = run(server, tmp_path, OWN, at=AT + timedelta(days=1))
    day2 = read_envelope(second.landed[0].uri)
    _, _, world_artists = server.world.observe(OWN, DAY0 + timedelta(days=1))
    cached_ids = {a["id"] for a in day1["artists"]}
    new_ids = [a["id"] for a in world_artists if a["id"] not in cached_ids]
    asked = [
        i for r in server.requests if r.path.startswith("/v1/artists") for i in r.query["ids"][0].split(",")
    ]
    assert (
        asked == new_ids
        and second.artists_fetched == len(new_ids)
        and second.artists_from_cache
        == 84 - len([a for a in day1["artists"] if a["id"] not in {w["id"] for w in world_artists}])
    )
    # every track artist of day 2 has its full object: day 1's for those cached, fetched for new ones
    assert [a["id"] for a in day2["artists"]] == [a["id"] for a in world_artists]
    assert all(
        day2["artists_fetched_at"][a["id"]] == "2026-11-01T03:00:05Z"
        for a in world_artists
        if a["id"] in cached_ids
    )
    assert day2["artists"][0] == next(a for a in day1["artists"] if a["id"] == day2["artists"][0]["id"])


def test_artists_older_than_the_window_are_fetched_again(server, tmp_path):
    run(server, tmp_path, OWN, artist_cache_days=7)
    server.clear_requests()
    eight_days = timedelta(days=8)
    server.set_day(DAY0 + eight_days)
    report = run(server, tmp_path, OWN, at=AT + eight_days, artist_cache_days=7)
    day8 = read_envelope(report.landed[0].uri)
    assert report.artists_fetched == len(day8["artists"]) and artist_requests(server)
    assert set(day8["artists_fetched_at"].values()) == {"2026-11-09T03:00:05Z"}
    _, _, world_artists = server.world.observe(OWN, DAY0 + eight_days)
    assert day8["artists"] == world_artists  # fresh objects, not the week-old ones


def test_a_failed_refetch_keeps_the_stale_cached_object_with_its_age(server, tmp_path):
    run(server, tmp_path, OWN, artist_cache_days=1)
    server.inject_fault(r"^/v1/artists", 500, times=1000)
    report = run(server, tmp_path, OWN, at=AT + timedelta(days=2), artist_cache_days=1, max_attempts=1)
    later = read_envelope(report.landed[0].uri)
    assert report.artists_fetched == 0 and len(later["artists"]) == 84
    assert set(later["artists_fetched_at"].values()) == {"2026-11-01T03:00:05Z"}


def test_an_unreadable_cache_is_ignored_with_a_warning(server, tmp_path, caplog):
    state = tmp_path / "_state" / "extract"
    state.mkdir(parents=True)
    (state / "artists.json.gz").write_bytes(b"not gzip")
    caplog.set_level(logging.WARNING)
    report = run(server, tmp_path, OWN)
    assert report.ok and report.artists_fetched == 84
    assert '"event": "state_unreadable"' in caplog.text


@pytest.mark.parametrize("status", [403, 404, 410])
def test_batch_artists_gone_falls_back_to_single_artists_with_the_reason_logged(
    server, tmp_path, caplog, status
):
    server.inject_fault(r"^/v1/artists/?$", status, times=1)
    caplog.set_level(logging.INFO, logger="extract_lambda")
    report = run(server, tmp_path, OWN, state=False)
    assert report.ok and report.artists_fetched == 84
    singles = [p for p in artist_requests(server) if p.rstrip("/") != "/v1/artists"]
    assert len(singles) == 84 and len(set(singles)) == 84
    [event] = [
        json.loads(r.getMessage()) for r in caplog.records if "artists_batch_unavailable" in r.getMessage()
    ]
    assert (event["http_status"], event["fallback"]) == (status, "GET /artists/{id}")


# ------------------------------------------------------------------------------ token rotation (local)


def test_rotated_refresh_token_locally_goes_to_a_private_file_and_a_warning_names_the_variable(
    server, tmp_path, monkeypatch, capsys, caplog
):
    caplog.set_level(logging.DEBUG)
    for name, value in server.env().items():
        monkeypatch.setenv(name, value)
    first = server.refresh_token
    monkeypatch.setenv("SPOTIFY_REFRESH_TOKEN", first)
    server.rotate_refresh_tokens = True
    code = cli_main(["extract", "--lake", str(tmp_path), "--playlist", OWN])
    out, err = capsys.readouterr()
    assert code == 0
    stored = tmp_path / "_state" / "extract" / "spotify_refresh_token"
    assert stored.read_text().strip() == server.refresh_token != first
    assert stat.S_IMODE(os.stat(stored).st_mode) == 0o600
    assert f"update SPOTIFY_REFRESH_TOKEN with the new value stored in {stored}" in out
    for token in (first, server.refresh_token):
        assert token not in out and token not in err and token not in caplog.text
    # the variable not updated: the old token is revoked, and the summary points at the stored one
    server.rotate_refresh_tokens = False
    assert cli_main(["extract", "--lake", str(tmp_path), "--playlist", OWN]) == 1
    out = capsys.readouterr().out
    assert "invalid_grant" in out
    assert f"an earlier run stored a newer refresh token in {stored}: set SPOTIFY_REFRESH_TOKEN to it" in out


def _cli_env(server, monkeypatch, refresh_token: str) -> None:
    for name, value in server.env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("SPOTIFY_REFRESH_TOKEN", refresh_token)


def test_a_store_that_cannot_take_a_rotated_token_stops_before_the_token_is_used_and_recovery_works(
    server, tmp_path, monkeypatch, capsys
):
    """docs/extract.md: 'make LAKE/_state/extract a writable folder and run again' (the token still works)."""
    state = tmp_path / "_state" / "extract"
    state.parent.mkdir()
    state.write_text("not a folder")  # unwritable even for root (a read-only folder is not, for root)
    first = server.refresh_token
    _cli_env(server, monkeypatch, first)
    server.rotate_refresh_tokens = True
    code = cli_main(["extract", "--lake", str(tmp_path), "--playlist", OWN, "--playlist", HEALTHY])
    out = capsys.readouterr().out
    assert code == 1
    [line] = [line for line in out.splitlines() if "token_not_stored" in line]  # one line for both
    assert line.startswith(f"  - {OWN}, {HEALTHY}: token_not_stored (permanent): a rotated refresh token")
    assert f"make {state} a writable folder and run again; SPOTIFY_REFRESH_TOKEN was not used" in line
    assert server.requests == []  # nothing sent: the refresh token was not used, so it was not rotated
    assert not (tmp_path / "raw").exists()
    # the recovery, as documented
    state.unlink()
    state.mkdir()
    assert cli_main(["extract", "--lake", str(tmp_path), "--playlist", OWN, "--playlist", HEALTHY]) == 0
    assert (state / "spotify_refresh_token").read_text().strip() == server.refresh_token != first


def test_a_rotated_token_that_cannot_be_written_stops_the_run_in_one_line_and_reauthorizing_recovers(
    server, tmp_path, monkeypatch, capsys
):
    """The write fails after Spotify issued the new token (here: a folder where the file goes)."""
    state = tmp_path / "_state" / "extract"
    (state / "spotify_refresh_token").mkdir(parents=True)  # the probe passes, the token's write does not
    _cli_env(server, monkeypatch, server.refresh_token)
    server.rotate_refresh_tokens = True
    code = cli_main(["extract", "--lake", str(tmp_path), "--playlist", OWN, "--playlist", HEALTHY])
    out = capsys.readouterr().out
    assert code == 1
    [line] = [line for line in out.splitlines() if "token_not_stored" in line]
    assert "(permanent): Spotify issued a new refresh token that could not be written to" in line
    assert "authorize the app again and set it to the new token" in line
    assert [r.path for r in server.requests] == ["/api/token"]  # no API call, no second grant
    assert not (tmp_path / "raw").exists()
    # the recovery, as documented: authorize again, set SPOTIFY_REFRESH_TOKEN, fix the folder, run again
    (state / "spotify_refresh_token").rmdir()
    _cli_env(server, monkeypatch, server.authorize())
    assert cli_main(["extract", "--lake", str(tmp_path), "--playlist", OWN]) == 0
    assert (state / "spotify_refresh_token").read_text().strip() == server.refresh_token


# ------------------------------------------------------------------------------ the fields filter


def test_fields_filter_follows_the_openapi_description():
    playlist = {
        "description": "d",
        "uri": "u",
        "tracks": {"items": [{"added_at": "t", "added_by": {"id": "a", "uri": "x"}, "track": {"name": "n"}}]},
    }
    assert apply_fields(playlist, "description,uri") == {"description": "d", "uri": "u"}
    assert apply_fields(playlist, "tracks.items(added_at,added_by.id)") == {
        "tracks": {"items": [{"added_at": "t", "added_by": {"id": "a"}}]}
    }
    assert apply_fields(playlist, "!tracks") == {"description": "d", "uri": "u"}
    album = {"album": {"name": "n", "href": "h", "id": "i"}}
    assert apply_fields(album, "album(!name,href)") == {"album": {"href": "h"}}
    with pytest.raises(FieldsSyntaxError):
        apply_fields(playlist, "tracks(items")


def test_simulator_applies_fields_to_get_playlist(server):
    import requests

    token = requests.post(
        server.token_url,
        data={"grant_type": "client_credentials"},
        auth=(server.client_id, server.client_secret),
    ).json()["access_token"]
    answer = requests.get(
        f"{server.api_base_url}playlists/{OWN}",
        params={"fields": "id,snapshot_id,owner(id)"},
        headers={"Authorization": f"Bearer {token}"},
    ).json()
    playlist, _, _ = server.world.observe(OWN, DAY0)
    assert answer == {
        "id": OWN,
        "snapshot_id": playlist["snapshot_id"],
        "owner": {"id": playlist["owner"]["id"]},
    }
