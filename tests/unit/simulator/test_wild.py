"""The wild world (`--world wild`): real spotipy over HTTP against the simulator lands what real playlists hold.

No Spark here: these tests prove what the extractor lands from the wild world; tests/e2e/test_run_wild_world.py
runs the whole pipeline on it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from spotify_etl.simulator.server import SimulatorServer
from spotify_etl.simulator.wild import (
    LARGEST_PLAYLIST_SIZE,
    WILD_ARTIST_NAMES,
    WILD_PLAYLIST_NAME,
    WILD_RELEASES,
    WILD_TRACK_NAMES,
    WildWorld,
    make_world,
)
from spotify_etl.simulator.world import DEFAULT_PLAYLIST_IDS, ChartWorld
from tests.simulated_api import DAY0, extract, read_envelope, serving


@pytest.fixture(scope="module")
def server() -> Iterator[SimulatorServer]:
    yield from serving(WildWorld(seed=7, start=DAY0))


def _extract(server: SimulatorServer, tmp_path: Path, playlist_id: str) -> tuple[dict, int, int]:
    report = extract(server, tmp_path, playlist_id, deadline_s=300, requests_timeout=10.0)
    [landed] = report.landed
    return read_envelope(landed.uri), landed.items, landed.pages


def test_the_largest_playlist_lands_all_10000_items_in_order_over_200_pages(
    server: SimulatorServer, tmp_path: Path
) -> None:
    world = server.world
    assert isinstance(world, WildWorld)
    server.clear_requests()

    envelope, items, pages = _extract(server, tmp_path, world.largest_playlist_id)

    offsets = [int(r.query["offset"][0]) for r in server.requests if r.path.endswith("/items")]
    assert (items, pages) == (LARGEST_PLAYLIST_SIZE, LARGEST_PLAYLIST_SIZE // 50)
    assert offsets == list(range(0, LARGEST_PLAYLIST_SIZE, 50))
    assert envelope["items"] == world.observe(world.largest_playlist_id, DAY0)[1]


def test_the_wild_playlist_lands_every_awkward_name_date_and_item_verbatim(
    server: SimulatorServer, tmp_path: Path
) -> None:
    world = server.world
    assert isinstance(world, WildWorld)

    envelope, _, _ = _extract(server, tmp_path, world.wild_playlist_id)

    tracks = [
        e["item"] for e in envelope["items"] if e["item"] and e["item"]["type"] == "track" and e["item"]["id"]
    ]
    assert envelope["playlist"]["name"] == WILD_PLAYLIST_NAME
    assert envelope["items"] == world.observe(world.wild_playlist_id, DAY0)[1]
    assert {t["name"] for t in tracks} == set(WILD_TRACK_NAMES)
    assert {a["name"] for a in envelope["artists"]} == set(WILD_ARTIST_NAMES)
    assert {(t["album"]["release_date"], t["album"]["release_date_precision"]) for t in tracks} == set(
        WILD_RELEASES
    )
    kinds = [
        "null" if e["item"] is None else "local" if e["is_local"] else e["item"]["type"]
        for e in envelope["items"]
    ]
    assert kinds == ["track"] * (len(WILD_TRACK_NAMES) + 1) + ["local", "episode", "null"]


def test_the_wild_world_keeps_the_chart_playlists() -> None:
    wild, chart = WildWorld(seed=7, start=DAY0), ChartWorld(seed=7, start=DAY0)

    assert wild.playlist_ids[: len(DEFAULT_PLAYLIST_IDS)] == DEFAULT_PLAYLIST_IDS
    assert len(wild.playlist_ids) == len(DEFAULT_PLAYLIST_IDS) + 2
    assert chart.playlist_ids == DEFAULT_PLAYLIST_IDS


def test_an_unknown_world_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown world 'moon'; one of chart, wild"):
        make_world("moon")
