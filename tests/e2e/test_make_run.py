"""``make run`` end to end: simulator -> extract -> the template's workflow (transform, crawler) -> queries -> report.

Runs offline against the loopback simulator, in a tmp lake, with the session's SparkSession.
"""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path

import pytest
from pyspark.sql import SparkSession

from spotify_etl.aws_twin.athena import load_queries
from spotify_etl.aws_twin.catalog_store import connect
from spotify_etl.devtools.clock import load_state
from spotify_etl.devtools.errors import PipelineError
from spotify_etl.devtools.pipeline import PipelineOptions, run_pipeline
from spotify_etl.devtools.real_api import RealApiSettings, real_api_settings
from spotify_etl.devtools.report import QUERY_NAMES
from spotify_etl.simulator.world import DEFAULT_PLAYLIST_IDS
from spotify_etl.transform.registry import CURATED_TABLES

pytestmark = pytest.mark.slow  # a module of slower tests: scheduled first (tests/conftest.py)

D1, D2, D3 = "2026-11-01", "2026-11-02", "2026-11-03"


def raw_objects(lake: Path, day: str) -> list[Path]:
    return sorted((lake / "raw" / "playlists" / f"ingest_date={day}").rglob("*.json.gz"))


@pytest.mark.e2e
def test_two_days_then_one_more_continues_the_lake(spark: SparkSession, tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    lines: list[str] = []

    first = run_pipeline(PipelineOptions(lake=lake, days=2), env={}, say=lines.append, spark=spark)

    # every day landed one object per playlist, in its own ingest_date
    assert [len(raw_objects(lake, d)) for d in (D1, D2)] == [len(DEFAULT_PLAYLIST_IDS)] * 2
    envelope = json.loads(gzip.decompress(raw_objects(lake, D2)[0].read_bytes()))
    assert envelope["extracted_at"] == f"{D2}T03:00:00Z"
    # day 2's transform read only day 2's objects (the bookmark), though raw/ then held both days
    assert [(d.day, d.objects_landed, d.objects_processed) for d in first.days] == [
        (D1, len(DEFAULT_PLAYLIST_IDS), len(DEFAULT_PLAYLIST_IDS)),
        (D2, len(DEFAULT_PLAYLIST_IDS), len(DEFAULT_PLAYLIST_IDS)),
    ]
    # the six tables are catalogued with both partitions, and each partition holds its own day's objects only
    con = connect(lake / "catalog.duckdb")
    try:
        partitions = con.execute(
            "SELECT table_name, list(snapshot_date ORDER BY snapshot_date) FROM lake_catalog.partitions "
            "GROUP BY table_name ORDER BY table_name"
        ).fetchall()
        sources = con.execute(
            "SELECT snapshot_date, count(DISTINCT source_file), "
            "bool_and(source_file LIKE '%ingest_date=' || snapshot_date || '/%') "
            "FROM playlist_snapshots GROUP BY snapshot_date ORDER BY snapshot_date"
        ).fetchall()
    finally:
        con.close()
    # ... and data_quality_results holds the evaluation of quality/ made after the last day (on its clock)
    assert partitions == sorted([(t, [D1, D2]) for t in CURATED_TABLES] + [("data_quality_results", [D2])])
    assert sources == [(D1, len(DEFAULT_PLAYLIST_IDS), True), (D2, len(DEFAULT_PLAYLIST_IDS), True)]
    # analysis and report
    assert sorted(first.queries) == sorted(load_queries())
    assert first.report_index == lake.resolve() / "report" / "index.html"
    page = first.report_index.read_text(encoding="utf-8")
    for name in QUERY_NAMES:
        assert f"spotify-etl query --name {name}" in page
    charts = {
        re.sub(r"-\d{8}T\d{6}Z-[0-9a-f]{4}\.png$", ".png", p.name) for p in (lake / "report").glob("*.png")
    }
    assert charts == {
        "rank-over-time.png",
        "artist-share.png",
        "new-entries.png",
        "release-years.png",
        "explicit-share.png",
        "genre-share.png",
    }
    new_entries = first.queries["new_entries_per_day"].as_dicts()
    assert {r["snapshot_date"] for r in new_entries} == {D2}
    # progress and the closing summary
    assert "    trigger RawArrivedTrigger (EVENT) fired -> TransformJob" in lines
    assert "    trigger CrawlAfterTransformTrigger (CONDITIONAL) fired -> CuratedCrawler" in lines
    assert f"report: {first.report_index}" in lines
    assert any(line.startswith("quality: 53 rules, ") and " 0 ERROR failed" in line for line in lines)
    assert 'id="data_quality_latest"' in page
    assert any(line.startswith(f"catalog: {lake.resolve() / 'catalog.duckdb'}: tables") for line in lines)
    state = load_state(lake)
    assert state is not None
    assert (str(state.next_day), state.days_done) == (D3, (D1, D2))

    second = run_pipeline(
        PipelineOptions(lake=lake, days=None, report=False), env={}, say=lines.append, spark=spark
    )

    # the next day only, from the persisted clock; nothing of days 1-2 read again
    assert [(d.day, d.objects_landed, d.objects_processed) for d in second.days] == [
        (D3, len(DEFAULT_PLAYLIST_IDS), len(DEFAULT_PLAYLIST_IDS))
    ]
    assert [len(raw_objects(lake, d)) for d in (D1, D2, D3)] == [len(DEFAULT_PLAYLIST_IDS)] * 3
    assert second.last_crawl is not None
    assert second.last_crawl.partitions_added == {t: [D3] for t in CURATED_TABLES}


def test_real_api_mode_is_chosen_only_when_fully_configured() -> None:
    assert real_api_settings({}) is None
    assert real_api_settings(
        {"SPOTIFY_CLIENT_ID": "id", "SPOTIFY_CLIENT_SECRET": "secret", "PLAYLISTS": " a1 , b2 ,"}
    ) == RealApiSettings("id", "secret", None, ("a1", "b2"), "US", None, None)


@pytest.mark.parametrize(
    ("env", "missing"),
    [
        ({"SPOTIFY_CLIENT_ID": "id", "SPOTIFY_CLIENT_SECRET": "s"}, "missing PLAYLISTS"),
        ({"PLAYLISTS": "a1"}, "missing SPOTIFY_CLIENT_ID, SPOTIFY_CLIENT_SECRET"),
    ],
)
def test_half_configured_real_api_mode_is_refused(env: dict[str, str], missing: str) -> None:
    with pytest.raises(PipelineError, match=missing):
        real_api_settings(env)


def test_secrets_stay_out_of_the_settings_repr() -> None:
    settings = RealApiSettings("id", "topsecret", "refreshme", ("a1",))

    assert "topsecret" not in repr(settings)
    assert "refreshme" not in repr(settings)


def test_a_corrupt_clock_is_named(tmp_path: Path) -> None:
    (tmp_path / "_simulator").mkdir()
    (tmp_path / "_simulator" / "state.json").write_text('{"seed": 7}')

    with pytest.raises(PipelineError, match=r"state.json is not a valid simulator state"):
        load_state(tmp_path)


@pytest.mark.e2e
def test_repeating_a_day_whose_clock_was_not_saved_changes_nothing(
    spark: SparkSession, tmp_path: Path
) -> None:
    lake = tmp_path / "lake"
    run_pipeline(PipelineOptions(lake=lake, days=1, report=False, print_analysis=False), env={}, spark=spark)
    state_file = lake / "_simulator" / "state.json"
    saved = state_file.read_text()
    rows_before = _all_rows(lake)
    # a crash after the day's workflow completed but before the clock moved on: the same day runs again
    state_file.write_text(json.dumps({"seed": 7, "start": D1, "next_day": D1, "days_done": []}))

    again = run_pipeline(
        PipelineOptions(lake=lake, days=1, report=False, print_analysis=False), env={}, spark=spark
    )

    assert [(d.day, d.objects_landed, d.objects_processed) for d in again.days] == [(D1, 0, 0)]
    assert len(raw_objects(lake, D1)) == len(DEFAULT_PLAYLIST_IDS)
    assert _all_rows(lake) == rows_before
    assert json.loads(state_file.read_text()) == json.loads(saved)


def _all_rows(lake: Path) -> dict[str, list[tuple]]:
    con = connect(lake / "catalog.duckdb")
    try:
        return {t: con.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall() for t in CURATED_TABLES}
    finally:
        con.close()


@pytest.mark.e2e
def test_real_api_mode_runs_once_against_the_configured_api(spark: SparkSession, tmp_path: Path) -> None:
    """The real-API branch, pointed at the loopback simulator (never at api.spotify.com in tests)."""
    from spotify_etl.simulator.server import SimulatorServer
    from spotify_etl.simulator.world import ChartWorld

    lake = tmp_path / "lake"
    lines: list[str] = []
    with SimulatorServer(ChartWorld(playlist_sizes=(5, 3), specials=False)) as server:
        env = {**server.env(), "PLAYLISTS": ",".join(DEFAULT_PLAYLIST_IDS[:2])}

        result = run_pipeline(
            PipelineOptions(lake=lake, report=False, print_analysis=False),
            env=env,
            say=lines.append,
            spark=spark,
        )

    assert result.mode == "real Spotify Web API"
    assert [(d.objects_landed, d.objects_processed) for d in result.days] == [(2, 2)]
    assert load_state(lake) is None  # no simulated clock in real mode
    con = connect(lake / "catalog.duckdb")
    try:
        sizes = con.execute(
            "SELECT playlist_id, item_count FROM playlist_snapshots ORDER BY item_count DESC"
        ).fetchall()
    finally:
        con.close()
    assert sizes == [(DEFAULT_PLAYLIST_IDS[0], 5), (DEFAULT_PLAYLIST_IDS[1], 3)]
    assert not any(server.client_secret in line for line in lines)
