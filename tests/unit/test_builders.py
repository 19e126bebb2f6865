"""The payload builders: deterministic, realistic, and landed exactly per the raw contract."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest

from tests import builders as b


def test_ids_are_deterministic_and_shaped_like_spotify_ids():
    assert b.spotify_id("artist:Royal Blood") == b.spotify_id("artist:Royal Blood")
    assert b.spotify_id("a") != b.spotify_id("b")
    assert len(b.spotify_id("a")) == 22
    assert b.track() == b.track()
    assert b.track(name="A")["id"] != b.track(name="B")["id"]


def test_omit_leaves_a_field_out_and_none_sends_null():
    omitted = b.track(id="t1", popularity=b.OMIT, isrc=b.OMIT, preview_url=b.OMIT)
    nulled = b.track(id="t1", popularity=None, preview_url=None)
    assert "popularity" not in omitted and "external_ids" not in omitted and "preview_url" not in omitted
    assert nulled["popularity"] is None and nulled["preview_url"] is None

    stripped = b.full_artist(id="a1", genres=b.OMIT, popularity=b.OMIT, followers=b.OMIT)
    assert {"genres", "popularity", "followers"}.isdisjoint(stripped)
    assert b.full_artist(id="a1", followers=5)["followers"] == {"href": None, "total": 5}


def test_playlist_item_keys_and_unavailable_items():
    t = b.track(id="t1")
    assert b.playlist_item(t, key="item")["item"] == t and "track" not in b.playlist_item(t, key="item")
    assert b.playlist_item(t, key="track")["track"] == t and "item" not in b.playlist_item(t, key="track")
    both = b.playlist_item(t, key="both")
    assert both["item"] == both["track"] == t
    assert b.playlist_item(None)["item"] is None
    assert b.playlist_item(b.local_track())["is_local"] is True
    assert b.playlist_item(added_by=None)["added_by"] is None
    with pytest.raises(ValueError, match="key must be 'item', 'track' or 'both', got 'items'"):
        b.playlist_item(t, key="items")


def test_local_track_and_episode_shapes():
    local = b.local_track(name="My Demo", artist="Me", album_name="Home Tapes", duration_ms=180000)
    assert local["id"] is None and local["is_local"] is True
    assert local["uri"] == "spotify:local:Me:Home+Tapes:My+Demo:180"
    episode = b.episode(id="e1")
    assert episode["type"] == "episode" and episode["uri"] == "spotify:episode:e1" and "album" not in episode


def test_envelope_drops_the_embedded_items_paging():
    env = b.envelope(extracted_at=datetime(2026, 11, 22, 3, 0, 5, tzinfo=UTC))
    assert env["schema_version"] == 1
    assert env["extracted_at"] == "2026-11-22T03:00:05Z"
    assert "items" not in env["playlist"] and "tracks" not in env["playlist"]
    assert len(env["items"]) == 1 and env["artists"] == []


def test_land_writes_one_gzipped_json_line_at_the_contract_key(tmp_path: Path):
    env = b.envelope(playlist=b.playlist(id="pl1", snapshot_id="snap"))

    uri = b.land(tmp_path, env)

    path = Path(unquote(urlparse(uri).path))
    assert path.is_relative_to(tmp_path)
    relative = path.relative_to(tmp_path).as_posix()
    assert relative.startswith("playlists/ingest_date=2026-11-22/playlist_id=pl1/20261122T030005Z-")
    assert relative.endswith(".json.gz")
    lines = gzip.decompress(path.read_bytes()).decode("utf-8").splitlines()
    assert [json.loads(line) for line in lines] == [env]
    assert b.land(tmp_path, env) == uri  # landing again is a no-op at the same key
    assert b.source_file(env, raw_root=tmp_path.as_uri()) == f"{tmp_path.as_uri()}/{relative}"
