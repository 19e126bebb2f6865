"""Issue 20: links are checked data, and an observation is whole and of one version or it does not land.

Real spotipy over HTTP against the simulator on 127.0.0.1; the "other host" is a second simulator on
127.0.0.2 (Linux routes all of 127.0.0.0/8 to the loopback interface), which records every request it gets.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from extract_lambda.bounded_http import Endpoint
from spotify_etl.lake import LakeLayout
from spotify_etl.simulator.server import SimulatorServer
from spotify_etl.simulator.world import DEFAULT_PLAYLIST_IDS, ChartWorld
from tests.simulated_api import DAY0, extract, read_envelope, serving

TORN, LONG, OTHER = DEFAULT_PLAYLIST_IDS[0], DEFAULT_PLAYLIST_IDS[2], DEFAULT_PLAYLIST_IDS[1]


@pytest.fixture(scope="module")
def server() -> Iterator[SimulatorServer]:
    yield from serving(ChartWorld(seed=7, start=DAY0))


@pytest.fixture(scope="module")
def elsewhere() -> Iterator[SimulatorServer]:
    with SimulatorServer(ChartWorld(seed=7, start=DAY0), host="127.0.0.2") as other:
        yield other


@pytest.fixture(autouse=True)
def _reset(server: SimulatorServer) -> Iterator[None]:
    server.clear_requests()
    yield
    server.clear_faults()


def failures(report) -> dict[str, tuple[str, str]]:
    return {f.playlist_id: (f.reason, f.message) for f in report.failed}


def landed_items(report, playlist_id: str) -> list:
    [landed] = [p for p in report.landed if p.playlist_id == playlist_id]
    return read_envelope(landed.uri)["items"]


def raw_objects(raw: Path, playlist_id: str) -> list[Path]:
    return sorted(raw.glob(f"playlists/*/playlist_id={playlist_id}/*.json.gz"))


# ------------------------------------------------------------------------------ links are data


def test_a_next_link_to_another_host_is_not_followed_and_the_playlist_fails_naming_the_host(
    server, elsewhere, tmp_path
):
    elsewhere.clear_requests()
    server.tamper_paging(TORN, next_base=elsewhere.api_base_url)
    report = extract(server, tmp_path, TORN, OTHER, LONG)
    assert elsewhere.requests == []  # no request at all, so no Authorization header either
    reason, message = failures(report)[TORN]
    assert reason == "foreign_link" and "127.0.0.2" in message
    assert f"GET /playlists/{TORN}/items (page 2)" in message
    assert all(token not in message for token in server.issued_tokens)
    assert sorted(p.playlist_id for p in report.landed) == sorted([OTHER, LONG])
    assert raw_objects(tmp_path / "raw", TORN) == []
    assert [f.permanent for f in report.failed] == [True]


def test_a_redirect_to_another_host_is_not_followed(server, elsewhere, tmp_path):
    elsewhere.clear_requests()
    server.inject_redirect(rf"/v1/playlists/{TORN}/items", f"{elsewhere.api_base_url}playlists/{TORN}/items")
    report = extract(server, tmp_path, TORN, OTHER)
    assert elsewhere.requests == []
    reason, message = failures(report)[TORN]
    assert reason == "foreign_link" and "127.0.0.2" in message
    assert [p.playlist_id for p in report.landed] == [OTHER]


def test_a_token_endpoint_redirect_to_another_host_does_not_carry_the_client_secret_there(
    server, elsewhere, tmp_path
):
    elsewhere.clear_requests()
    server.inject_redirect(r"/api/token", elsewhere.token_url, status=307)  # 307 keeps the method and body
    report = extract(server, tmp_path, OTHER)
    assert elsewhere.requests == []
    reason, message = failures(report)[OTHER]
    assert reason == "foreign_link" and "127.0.0.2" in message and server.client_secret not in message


def test_a_redirect_within_the_api_is_followed_with_the_token(server, tmp_path):
    """A same-origin redirect under the API prefix is allowed (requests keeps Authorization for it)."""
    target = f"{server.api_base_url}playlists/{OTHER}/items?offset=0&limit=50&market=US&additional_types=track%2Cepisode"
    server.inject_redirect(rf"/v1/playlists/{OTHER}/items", target)
    report = extract(server, tmp_path, OTHER)
    assert report.ok
    hops = [r for r in server.requests if r.path == f"/v1/playlists/{OTHER}/items"]
    assert [(r.status, r.authorized) for r in hops] == [
        (302, True),
        (200, True),
        (200, True),
    ]  # 60 items: 2 pages


def test_requests_strips_authorization_on_a_redirect_to_another_host(server, elsewhere):
    """The library's own rule, checked on the version installed (requests' Session.rebuild_auth)."""
    import requests

    elsewhere.clear_requests()
    server.inject_redirect(r"/v1/me", f"{elsewhere.api_base_url}me")
    requests.get(f"{server.api_base_url}me", headers={"Authorization": "Bearer x"}, timeout=5)
    assert [(r.path, r.authorized) for r in elsewhere.requests] == [("/v1/me", False)]


@pytest.mark.parametrize(
    ("url", "refused"),
    [
        ("https://api.spotify.com/v1/playlists/x/items?offset=50", None),
        ("https://API.spotify.com:443/v1/playlists/x/items", None),
        ("http://api.spotify.com/v1/playlists/x/items", "outside the configured API"),
        ("https://api.spotify.com:8443/v1/playlists/x", "outside the configured API"),
        ("https://api.spotify.com.evil.example/v1/x", "host 'api.spotify.com.evil.example'"),
        ("https://api.spotify.com@evil.example/v1/x", "host 'evil.example'"),
        ("https://api.spotify.com/v2/playlists", "outside the configured API path /v1/"),
        ("https://api.spotify.com/v1/../admin", "outside the configured API path /v1/"),
        ("https://api.spotify.com:99999/v1/", "malformed link"),
    ],
)
def test_endpoint_admits_only_the_api_base(url, refused):
    refusal = Endpoint.of("https://api.spotify.com/v1/").refusal(url)
    assert (refusal is None) if refused is None else (refused in (refusal or ""))


# ------------------------------------------------------------------------------ whole and of one version


def test_a_playlist_edited_once_between_pages_lands_whole_after_one_reread(server, tmp_path):
    server.tamper_paging(LONG, edits=1)
    report = extract(server, tmp_path, LONG, OTHER)
    assert report.ok
    playlist, items, _ = server.world.observe(LONG, DAY0 + timedelta(days=1))  # the edited version
    assert landed_items(report, LONG) == items
    [uri] = [p.uri for p in report.landed if p.playlist_id == LONG]
    assert read_envelope(uri)["playlist"]["snapshot_id"] == playlist["snapshot_id"]
    long_requests = [r.path for r in server.requests if r.path.startswith(f"/v1/playlists/{LONG}")]
    # read 1: playlist, 3 pages (torn: the closing playlist request sees the edit), read 2: 3 pages, playlist
    assert long_requests == [f"/v1/playlists/{LONG}"] + [f"/v1/playlists/{LONG}/items"] * 3 + [
        f"/v1/playlists/{LONG}"
    ] + [f"/v1/playlists/{LONG}/items"] * 3 + [f"/v1/playlists/{LONG}"]


def test_a_playlist_edited_at_every_read_lands_nothing_and_is_named(server, tmp_path):
    server.tamper_paging(LONG, edits=1000)
    report = extract(server, tmp_path, LONG, OTHER)
    reason, message = failures(report)[LONG]
    assert reason == "inconsistent_read"
    assert "3 reads" in message and "snapshot_id changed" in message
    assert raw_objects(tmp_path / "raw", LONG) == []
    assert [p.playlist_id for p in report.landed] == [OTHER]
    assert not report.failed[0].permanent  # the next run reads it again
    pages = [r for r in server.requests if r.path == f"/v1/playlists/{LONG}/items"]
    assert len(pages) == 9  # bounded: 3 reads of 3 pages


def test_a_chain_cut_short_lands_nothing_after_the_bounded_rereads(server, tmp_path):
    server.tamper_paging(LONG, cut_after=1)  # next: null after 50 of 120
    report = extract(server, tmp_path, LONG, OTHER)
    reason, message = failures(report)[LONG]
    assert reason == "inconsistent_read" and "ended after 50 of its 120 items" in message
    assert raw_objects(tmp_path / "raw", LONG) == []
    assert [p.playlist_id for p in report.landed] == [OTHER]


def test_a_chain_running_past_its_total_lands_nothing(server, tmp_path):
    server.tamper_paging(LONG, total_short_by=30)  # total 90, the pages give 120
    report = extract(server, tmp_path, LONG)
    reason, message = failures(report)[LONG]
    assert reason == "inconsistent_read" and "more than its total 90" in message
    assert raw_objects(tmp_path / "raw", LONG) == []
    pages = [r for r in server.requests if r.path == f"/v1/playlists/{LONG}/items"]
    assert len(pages) == 3 * 2  # each read stops at the page that passes the total


@pytest.mark.parametrize(
    ("tamper", "named"),
    [
        ({"cut_after": 1}, "inconsistent_read (retryable): 3 reads of playlist"),
        ({"next_base": "elsewhere"}, "foreign_link (permanent): GET /playlists/"),
    ],
)
def test_the_cli_exits_1_naming_the_playlist_while_the_others_land(
    server, elsewhere, tmp_path, monkeypatch, capsys, tamper, named
):
    from spotify_etl.cli import main as cli_main

    for name, value in server.env().items():
        monkeypatch.setenv(name, value)
    elsewhere.clear_requests()
    server.tamper_paging(
        LONG, **{k: (elsewhere.api_base_url if v == "elsewhere" else v) for k, v in tamper.items()}
    )
    code = cli_main(["extract", "--lake", str(tmp_path), "--playlist", LONG, "--playlist", OTHER])
    out = capsys.readouterr().out
    assert code == 1
    assert f"  - {LONG}: {named}" in out
    assert f"{OTHER}: landed" in out
    assert elsewhere.requests == []


# ------------------------------------------------------------------------------ one URI convention


def test_a_landed_uri_is_the_literal_uri_the_local_transform_lists(server, tmp_path):
    """No percent-encoding on either side: the lander's URI is the transform's source_file, as is."""
    from spotify_etl.runtime.local.transform import list_raw_objects

    lake = tmp_path / "a lake %41 #1"
    report = extract(server, lake, OTHER)
    [landed] = report.landed
    [listed] = list_raw_objects(LakeLayout.from_lake(lake).raw)
    assert landed.uri == listed.uri == f"file://{lake}/raw/{landed.uri.split('/raw/', 1)[1]}"
    assert "%41 #1" in landed.uri and "%20" not in landed.uri and "%3D" not in landed.uri
