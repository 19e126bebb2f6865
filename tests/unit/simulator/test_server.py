"""The chart world and the simulator's HTTP contract (plain requests over 127.0.0.1, no spotipy)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
import requests

from spotify_etl.simulator.server import SimulatorServer
from spotify_etl.simulator.world import (
    DEFAULT_PLAYLIST_IDS,
    EDITORIAL_PLAYLIST_ID,
    FOREIGN_PLAYLIST_INDEX,
    ChartWorld,
    UnknownPlaylistError,
    playlist_id_for,
)

SHAPES = json.loads(
    (Path(__file__).parents[2] / "fixtures" / "simulator" / "recorded_shapes.json").read_text()
)
DAY0 = date(2026, 11, 1)


def _ids(items):
    return [(e["item"] or {}).get("id") for e in items]


# ---------------------------------------------------------------------------------------------- world


def test_world_is_deterministic_and_pure():
    a = ChartWorld(seed=7, start=DAY0)
    b = ChartWorld(seed=7, start=DAY0)
    pid = DEFAULT_PLAYLIST_IDS[1]
    # observing other days first changes nothing: no hidden state
    b.observe(pid, DAY0 + timedelta(days=9))
    assert a.observe(pid, DAY0 + timedelta(days=3)) == b.observe(pid, DAY0 + timedelta(days=3))
    assert ChartWorld(seed=8, start=DAY0).observe(pid, DAY0)[1] != a.observe(pid, DAY0)[1]


def test_playlist_ids_do_not_depend_on_seed_and_are_distinct():
    big = ChartWorld(seed=99, start=DAY0, n_playlists=500, playlist_size=100)
    assert big.playlist_ids[:4] == DEFAULT_PLAYLIST_IDS
    assert len(set(big.playlist_ids)) == 500
    assert big.playlist_ids[123] == playlist_id_for(123)
    assert all(len(p) == 22 and p.isalnum() for p in big.playlist_ids)
    playlist, items, _ = big.observe(big.playlist_ids[499], DAY0)
    assert playlist["id"] == big.playlist_ids[499]
    assert len(items) == 100


def test_charts_evolve_day_by_day_with_entries_exits_reorders_and_drift():
    world = ChartWorld(seed=7, start=DAY0)
    pid = DEFAULT_PLAYLIST_IDS[2]
    p1, day1, _ = world.observe(pid, DAY0)
    p2, day2, _ = world.observe(pid, DAY0 + timedelta(days=1))
    ids1, ids2 = _ids(day1), _ids(day2)
    assert set(ids2) - set(ids1), "no entries"
    assert set(ids1) - set(ids2), "no exits"
    kept = [i for i in ids1 if i in ids2]
    assert kept != [i for i in ids2 if i in ids1], "no reorders"
    pop1 = {e["item"]["id"]: e["item"]["popularity"] for e in day1}
    pop2 = {e["item"]["id"]: e["item"]["popularity"] for e in day2}
    assert any(pop1[t] != pop2[t] for t in kept), "no popularity drift"
    assert p1["snapshot_id"] != p2["snapshot_id"]
    # a track that stays keeps its added_at
    added1 = {e["item"]["id"]: e["added_at"] for e in day1}
    added2 = {e["item"]["id"]: e["added_at"] for e in day2}
    assert all(added1[t] == added2[t] for t in kept)


def test_playlist_zero_carries_the_odd_items():
    _, items, artists = ChartWorld(seed=7, start=DAY0).observe(DEFAULT_PLAYLIST_IDS[0], DAY0)
    assert len(items) == 100
    kinds = [
        "unavailable" if e["item"] is None else "local" if e["is_local"] else e["item"]["type"] for e in items
    ]
    assert kinds[-4:] == ["track", "local", "episode", "unavailable"]
    assert items[-4]["item"]["id"] == items[0]["item"]["id"]  # the number one listed twice
    assert items[-3]["item"]["id"] is None
    assert all(a["genres"] is not None and "followers" in a for a in artists)
    assert any(a["genres"] for a in artists)


def test_sizes_zero_and_unknown_ids():
    world = ChartWorld(seed=1, start=DAY0, playlist_sizes=(0, 1))
    assert world.observe(playlist_id_for(0), DAY0)[1] == []
    assert len(world.observe(playlist_id_for(1), DAY0)[1]) == 1
    with pytest.raises(UnknownPlaylistError):
        world.observe(EDITORIAL_PLAYLIST_ID, DAY0)
    with pytest.raises(ValueError, match="sizes must be >= 0"):
        ChartWorld(playlist_sizes=(3, -1))


def test_world_objects_have_the_recorded_key_sets():
    world = ChartWorld(seed=7, start=DAY0)
    playlist, items, artists = world.observe(DEFAULT_PLAYLIST_IDS[0], DAY0)
    assert set(SHAPES["playlist"]) <= set(playlist)
    assert set(SHAPES["playlist_owner"]) <= set(playlist["owner"])
    recorded_item = {("item" if k == "track" else k) for k in SHAPES["playlist_item"]}
    assert all(recorded_item <= set(e) for e in items)
    track = items[0]["item"]
    assert set(SHAPES["track"]) <= set(track)
    assert set(SHAPES["album"]) <= set(track["album"])
    assert set(SHAPES["simplified_artist"]) <= set(track["artists"][0])
    assert set(SHAPES["episode"]) <= set(items[-2]["item"])
    assert all(set(SHAPES["artist"]) <= set(a) for a in artists)


# ---------------------------------------------------------------------------------------------- HTTP


@pytest.fixture(scope="module")
def server() -> Iterator[SimulatorServer]:
    with SimulatorServer(ChartWorld(seed=7, start=DAY0)) as sim:
        yield sim


@pytest.fixture(autouse=True)
def _reset(server: SimulatorServer) -> Iterator[None]:
    yield
    server.dev_mode = False
    server.legacy_shape = False
    server.clear_faults()
    server.set_day(DAY0)


def _token(server: SimulatorServer, **form: str) -> str:
    answer = requests.post(
        server.token_url,
        data=form or {"grant_type": "client_credentials"},
        auth=(server.client_id, server.client_secret),
    )
    assert answer.status_code == 200, answer.text
    return str(answer.json()["access_token"])


def _get(server: SimulatorServer, path: str, token: str | None, **params: object) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return requests.get(server.api_base_url + path, headers=headers, params=params, timeout=5)


def test_token_endpoint_grants_and_refusals(server):
    bad = requests.post(
        server.token_url, data={"grant_type": "client_credentials"}, auth=(server.client_id, "nope")
    )
    assert (bad.status_code, bad.json()) == (
        400,
        {"error": "invalid_client", "error_description": "Invalid client secret"},
    )
    grant = requests.post(
        server.token_url,
        data={"grant_type": "refresh_token", "refresh_token": "stale"},
        auth=(server.client_id, server.client_secret),
    )
    assert (grant.status_code, grant.json()["error"]) == (400, "invalid_grant")
    user = requests.post(
        server.token_url,
        data={"grant_type": "refresh_token", "refresh_token": server.refresh_token},
        auth=(server.client_id, server.client_secret),
    ).json()
    assert (
        user["token_type"] == "Bearer"
        and user["scope"] == "playlist-read-private playlist-read-collaborative"
    )


def test_api_needs_a_bearer_token(server):
    none = _get(server, f"playlists/{DEFAULT_PLAYLIST_IDS[0]}", None)
    assert (none.status_code, none.json()) == (
        401,
        {"error": {"status": 401, "message": "No token provided"}},
    )
    assert _get(server, f"playlists/{DEFAULT_PLAYLIST_IDS[0]}", "made-up").status_code == 401


def test_items_paging_limits_and_absolute_next(server):
    token = _token(server)
    pid = DEFAULT_PLAYLIST_IDS[2]  # 120 items
    assert _get(server, f"playlists/{pid}/items", token, limit=51).status_code == 400
    assert _get(server, f"playlists/{pid}/items", token, limit=0).status_code == 400
    page = _get(server, f"playlists/{pid}/items", token, limit=50, offset=100, market="US").json()
    assert (page["offset"], page["limit"], page["total"], len(page["items"]), page["next"]) == (
        100,
        50,
        120,
        20,
        None,
    )
    assert page["previous"] == f"{server.api_base_url}playlists/{pid}/items?offset=50&limit=50&market=US"
    first = _get(server, f"playlists/{pid}/items", token, limit=50).json()
    assert first["next"] == f"{server.api_base_url}playlists/{pid}/items?offset=50&limit=50"
    assert "item" in first["items"][0] and "track" not in first["items"][0]


def test_get_playlist_shapes_2026_and_legacy(server):
    token = _token(server)
    pid = DEFAULT_PLAYLIST_IDS[1]
    modern = _get(server, f"playlists/{pid}", token).json()
    assert "items" in modern and "tracks" not in modern
    assert modern["items"]["total"] == 60 and "item" in modern["items"]["items"][0]
    server.legacy_shape = True
    legacy = _get(server, f"playlists/{pid}", token).json()
    assert "tracks" in legacy and "items" not in legacy
    assert "track" in legacy["tracks"]["items"][0] and "item" not in legacy["tracks"]["items"][0]
    assert legacy["tracks"]["href"].startswith(f"{server.api_base_url}playlists/{pid}/tracks?")


def test_not_found_for_editorial_and_unknown(server):
    token = _token(server)
    for pid in (EDITORIAL_PLAYLIST_ID, "0000000000000000000000"):
        answer = _get(server, f"playlists/{pid}", token)
        assert (answer.status_code, answer.json()["error"]["message"]) == (404, "Resource not found")
        assert _get(server, f"playlists/{pid}/items", token).status_code == 404


def test_development_mode_refusals(server):
    server.dev_mode = True
    app = _token(server)
    user = _token(server, grant_type="refresh_token", refresh_token=server.refresh_token)
    own, foreign = DEFAULT_PLAYLIST_IDS[0], DEFAULT_PLAYLIST_IDS[FOREIGN_PLAYLIST_INDEX]
    assert _get(server, f"playlists/{own}/items", app).status_code == 403  # no user behind the token
    assert _get(server, f"playlists/{own}/tracks", user).status_code == 403  # /tracks removed 2026-03-09
    assert _get(server, f"playlists/{foreign}/items", user).status_code == 403
    page = _get(server, f"playlists/{own}/items", user, limit=5).json()
    assert (
        "popularity" not in page["items"][0]["item"] and "available_markets" not in page["items"][0]["item"]
    )
    meta = _get(server, f"playlists/{foreign}", user).json()
    assert meta["id"] == foreign and "items" not in meta and "followers" not in meta
    artist_id = page["items"][0]["item"]["artists"][0]["id"]
    assert _get(server, "artists", user, ids=artist_id).status_code == 403
    single = _get(server, f"artists/{artist_id}", user).json()
    assert single["id"] == artist_id and "popularity" not in single and "genres" in single


def test_artists_batch_and_single(server):
    token = _token(server)
    _, _, artists = server.world.observe(DEFAULT_PLAYLIST_IDS[0], DAY0)
    ids = [a["id"] for a in artists]
    batch = _get(server, "artists", token, ids=",".join(ids[:3])).json()["artists"]
    assert batch == artists[:3]
    assert _get(server, "artists", token, ids=",".join(ids[:51])).status_code == 400
    assert _get(server, f"artists/{ids[0]}", token).json() == artists[0]
    assert _get(server, "artists/0000000000000000000000", token).status_code == 404


def test_paging_tampers_and_redirects(server):
    token = _token(server)
    pid = DEFAULT_PLAYLIST_IDS[2]  # 120 items
    day0, day1 = (server.world.observe(pid, DAY0 + timedelta(days=d)) for d in (0, 1))
    server.tamper_paging(pid, edits=1)
    first = _get(server, f"playlists/{pid}/items", token, limit=50).json()
    second = _get(server, f"playlists/{pid}/items", token, limit=50, offset=50).json()
    again = _get(server, f"playlists/{pid}/items", token, limit=50).json()  # edits=1: spent
    assert (first["items"], second["items"]) == (day0[1][:50], day1[1][50:100])  # a torn read
    assert again["items"] == day1[1][:50]
    assert _get(server, f"playlists/{pid}", token).json()["snapshot_id"] == day1[0]["snapshot_id"]
    server.tamper_paging(pid, cut_after=1, total_short_by=5, next_base="http://127.0.0.2:9/v1/")
    cut = _get(server, f"playlists/{pid}/items", token, limit=50).json()
    assert (cut["next"], cut["total"], len(cut["items"])) == (None, 115, 50)
    server.tamper_paging(pid, next_base="http://127.0.0.2:9/v1/")
    assert _get(server, f"playlists/{pid}/items", token, limit=50).json()["next"] == (
        f"http://127.0.0.2:9/v1/playlists/{pid}/items?offset=50&limit=50"
    )
    server.clear_faults()  # the playlist is served as the clock says again
    assert _get(server, f"playlists/{pid}", token).json()["snapshot_id"] == day0[0]["snapshot_id"]
    server.inject_redirect(r"/v1/me", "http://127.0.0.2:9/elsewhere")
    moved = requests.get(server.api_base_url + "me", allow_redirects=False, timeout=5)
    assert (moved.status_code, moved.headers["Location"]) == (302, "http://127.0.0.2:9/elsewhere")
    assert [(r.path, r.status, r.authorized) for r in server.requests][-1] == ("/v1/me", 302, False)


def test_fault_injection_and_the_simulated_clock(server):
    token = _token(server)
    pid = DEFAULT_PLAYLIST_IDS[3]
    server.inject_fault(rf"/playlists/{pid}$", 429, retry_after=7)
    limited = _get(server, f"playlists/{pid}", token)
    assert (limited.status_code, limited.headers["Retry-After"]) == (429, "7")
    assert _get(server, f"playlists/{pid}", token).status_code == 200  # times=1: spent
    server.inject_fault("/artists", 503, times=2)
    assert [_get(server, "artists/x1", token).status_code for _ in range(3)] == [503, 503, 404]
    before = _get(server, f"playlists/{pid}", token).json()["snapshot_id"]
    server.set_day(DAY0 + timedelta(days=5))
    after = _get(server, f"playlists/{pid}", token).json()["snapshot_id"]
    assert before != after
    assert after == server.world.observe(pid, DAY0 + timedelta(days=5))[0]["snapshot_id"]


def test_simulate_api_command_prints_its_urls_and_serves(tmp_path):
    import subprocess
    import sys

    process = subprocess.Popen(
        [sys.executable, "-m", "spotify_etl.cli", "simulate-api", "--legacy-shape", "--day", "2026-11-03"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        lines = []
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line.rstrip("\n"))
            if line.startswith("Ctrl-C"):
                break
        exports = dict(
            line.removeprefix("export ").split("#")[0].strip().split("=", 1)
            for line in lines
            if line.startswith("export ")
        )
        assert set(exports) == {
            "SPOTIFY_API_BASE_URL",
            "SPOTIFY_TOKEN_URL",
            "SPOTIFY_CLIENT_ID",
            "SPOTIFY_CLIENT_SECRET",
            "SPOTIFY_REFRESH_TOKEN",
        }
        assert "day 2026-11-03" in lines[0] and "legacy shape True" in lines[0]
        token = requests.post(
            exports["SPOTIFY_TOKEN_URL"],
            data={"grant_type": "client_credentials"},
            auth=(exports["SPOTIFY_CLIENT_ID"], exports["SPOTIFY_CLIENT_SECRET"]),
            timeout=5,
        ).json()["access_token"]
        playlist = requests.get(
            f"{exports['SPOTIFY_API_BASE_URL']}playlists/{DEFAULT_PLAYLIST_IDS[0]}",
            headers={"Authorization": f"Bearer {token}"},
            timeout=5,
        ).json()
        expected = ChartWorld(seed=7, start=DAY0).observe(DEFAULT_PLAYLIST_IDS[0], date(2026, 11, 3))[0]
        assert playlist["snapshot_id"] == expected["snapshot_id"] and "tracks" in playlist
    finally:
        process.terminate()
        process.wait(timeout=10)
