"""Every rule of quality/ passes on a clean lake and fails on data made to break it (DuckDB on Parquet).

One case per rule, each a small change to the clean lake of tests/quality_lake.py; a last test checks
that no rule of quality/ is left without its case.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from spotify_etl.lake import LakeLayout
from spotify_etl.quality.duckdb_lake import open_lake
from spotify_etl.quality.evaluate import DuckDbEngine, RuleResult, evaluate, load_rulesets
from tests.builders import spotify_id
from tests.quality_lake import CLOCK, DAYS, clean_rows, write_lake

pytestmark = pytest.mark.slow  # a module of slower tests: scheduled first (tests/conftest.py)

Rows = dict[str, list[dict[str, Any]]]


def judge(lake: Path) -> list[RuleResult]:
    rulesets = load_rulesets()
    con = open_lake(LakeLayout.from_lake(lake), rulesets)
    return evaluate(DuckDbEngine(con), rulesets, CLOCK)


def set_(table: str, index: int, **values: Any) -> Callable[[Rows], None]:
    return lambda rows: rows[table][index].update(values)


def duplicate(table: str) -> Callable[[Rows], None]:
    return lambda rows: rows[table].append(copy.deepcopy(rows[table][0]))


def empty(table: str) -> Callable[[Rows], None]:
    return lambda rows: rows[table].clear()


def drop_day(table: str, day: str) -> Callable[[Rows], None]:
    def change(rows: Rows) -> None:
        rows[table][:] = [r for r in rows[table] if r["snapshot_date"] != day]

    return change


STRANGER = spotify_id("nobody")
CASES: dict[tuple[str, str], Callable[[Rows], None]] = {
    ("albums", "RowCount > 0"): empty("albums"),
    ("albums", 'IsPrimaryKey "album_id" "snapshot_date"'): duplicate("albums"),
    ("albums", 'IsComplete "source_file"'): set_("albums", 0, source_file=None),
    ("albums", 'ColumnValues "album_id" matches "[0-9A-Za-z]{22}"'): set_("albums", 0, album_id="not-an-id"),
    ("albums", 'ColumnValues "release_date_precision" in ["year", "month", "day", NULL]'): set_(
        "albums", 0, release_date_precision="week"
    ),
    ("albums", 'ColumnValues "release_date" <= (now() + 400 days) where "release_date IS NOT NULL"'): set_(
        "albums", 0, release_date=date(2999, 1, 1)
    ),
    ("albums", 'ColumnValues "album_type" in ["album", "single", "compilation", "appears_on", NULL]'): set_(
        "albums", 0, album_type="mixtape"
    ),
    ("albums", 'ColumnValues "total_tracks" >= 0 where "total_tracks IS NOT NULL"'): set_(
        "albums", 0, total_tracks=-1
    ),
    ("artists", "RowCount > 0"): empty("artists"),
    ("artists", 'IsPrimaryKey "artist_id" "snapshot_date"'): duplicate("artists"),
    ("artists", 'IsComplete "source_file"'): set_("artists", 0, source_file=None),
    ("artists", 'ColumnValues "artist_id" matches "[0-9A-Za-z]{22}"'): set_("artists", 0, artist_id="x"),
    # 101 is outside: DQDL's between excludes its bounds (100, in the clean lake, is inside)
    ("artists", 'ColumnValues "popularity" between -1 and 101 where "popularity IS NOT NULL"'): set_(
        "artists", 0, popularity=101
    ),
    ("artists", 'ColumnValues "followers" >= 0 where "followers IS NOT NULL"'): set_(
        "artists", 0, followers=-1
    ),
    ("artists", 'IsComplete "artist_name"'): set_("artists", 1, artist_name=None),
    ("playlist_items", "RowCount > 0"): empty("playlist_items"),
    ("playlist_items", 'IsPrimaryKey "playlist_id" "snapshot_date" "position"'): duplicate("playlist_items"),
    ("playlist_items", 'IsComplete "source_file"'): set_("playlist_items", 0, source_file=None),
    ("playlist_items", 'ColumnValues "position" >= 0'): set_("playlist_items", 0, position=-1),
    ("playlist_items", 'ColumnValues "item_type" in ["track", "episode", "local", "unavailable"]'): set_(
        "playlist_items", 0, item_type="podcast"
    ),
    (
        "playlist_items",
        'ColumnValues "track_id" matches "[0-9A-Za-z]{22}" where "item_type = \'track\'"',
    ): set_("playlist_items", 0, track_id="spotify:track:x"),
    (
        "playlist_items",
        "ColumnValues \"item_id\" = NULL where \"item_type IN ('local', 'unavailable')\"",
    ): set_("playlist_items", 1, item_id=STRANGER),
    (
        "playlist_items",
        'CustomSql "SELECT count(*) FROM (SELECT playlist_id, snapshot_date, max(position) AS top, '
        'count(*) AS n FROM primary GROUP BY playlist_id, snapshot_date) g WHERE top <> n - 1" = 0',
    ): set_("playlist_items", 2, position=3),
    (
        "playlist_items",
        'ReferentialIntegrity "playlist_id,snapshot_date" '
        '"playlist_snapshots.{playlist_id,snapshot_date}" = 1.0',
    ): drop_day("playlist_snapshots", DAYS[1]),
    (
        "playlist_items",
        'CustomSql "SELECT count(*) FROM primary i JOIN playlist_snapshots s ON i.playlist_id = '
        's.playlist_id AND i.snapshot_date = s.snapshot_date AND i.source_file <> s.source_file" = 0',
    ): set_("playlist_items", 0, source_file="file:///lake/raw/other.json.gz"),
    ("playlist_snapshots", "RowCount > 0"): empty("playlist_snapshots"),
    ("playlist_snapshots", 'IsPrimaryKey "playlist_id" "snapshot_date"'): duplicate("playlist_snapshots"),
    ("playlist_snapshots", 'IsComplete "extracted_at"'): set_("playlist_snapshots", 0, extracted_at=None),
    ("playlist_snapshots", 'IsComplete "source_file"'): set_("playlist_snapshots", 0, source_file=None),
    ("playlist_snapshots", 'ColumnValues "playlist_id" matches "[0-9A-Za-z]{22}"'): set_(
        "playlist_snapshots", 0, playlist_id="p1"
    ),
    ("playlist_snapshots", 'ColumnValues "snapshot_date" matches "[0-9]{4}-[0-9]{2}-[0-9]{2}"'): set_(
        "playlist_snapshots", 0, snapshot_date="2026-11-1"
    ),
    ("playlist_snapshots", 'ColumnValues "item_count" >= 0'): set_("playlist_snapshots", 0, item_count=-1),
    ("playlist_snapshots", 'ColumnValues "followers" >= 0 where "followers IS NOT NULL"'): set_(
        "playlist_snapshots", 0, followers=-5
    ),
    (
        "playlist_snapshots",
        'CustomSql "SELECT count(*) FROM primary s LEFT JOIN (SELECT playlist_id, snapshot_date, '
        "count(*) AS n FROM playlist_items GROUP BY playlist_id, snapshot_date) i ON s.playlist_id = i.playlist_id AND "
        's.snapshot_date = i.snapshot_date WHERE coalesce(i.n, 0) <> s.item_count" = 0',
    ): set_("playlist_snapshots", 0, item_count=4),
    ("playlist_snapshots", 'IsComplete "snapshot_id"'): set_("playlist_snapshots", 0, snapshot_id=None),
    ("playlist_snapshots", 'DataFreshness "snapshot_date" <= 30 hours with threshold > 0'): drop_day(
        "playlist_snapshots", DAYS[1]
    ),
    ("track_artists", "RowCount > 0"): empty("track_artists"),
    ("track_artists", 'IsPrimaryKey "track_id" "artist_id" "snapshot_date"'): duplicate("track_artists"),
    ("track_artists", 'IsComplete "source_file"'): set_("track_artists", 0, source_file=None),
    ("track_artists", 'ColumnValues "artist_position" >= 0'): set_("track_artists", 0, artist_position=-1),
    (
        "track_artists",
        'ReferentialIntegrity "track_id,snapshot_date" "tracks.{track_id,snapshot_date}" = 1.0',
    ): set_("track_artists", 0, track_id=STRANGER),
    (
        "track_artists",
        'ReferentialIntegrity "artist_id,snapshot_date" "artists.{artist_id,snapshot_date}" = 1.0',
    ): set_("track_artists", 0, artist_id=STRANGER),
    (
        "track_artists",
        'CustomSql "SELECT count(*) FROM (SELECT track_id, snapshot_date, max(artist_position) AS top, '
        'count(*) AS n FROM primary GROUP BY track_id, snapshot_date) g WHERE top <> n - 1" = 0',
    ): set_("track_artists", 2, artist_position=2),
    ("tracks", "RowCount > 0"): empty("tracks"),
    ("tracks", 'IsPrimaryKey "track_id" "snapshot_date"'): duplicate("tracks"),
    ("tracks", 'IsComplete "source_file"'): set_("tracks", 0, source_file=None),
    ("tracks", 'ColumnValues "track_id" matches "[0-9A-Za-z]{22}"'): set_("tracks", 0, track_id="x" * 23),
    ("tracks", 'ColumnValues "album_id" matches "[0-9A-Za-z]{22}" where "album_id IS NOT NULL"'): set_(
        "tracks", 0, album_id=""
    ),
    ("tracks", 'ColumnValues "duration_ms" >= 0 where "duration_ms IS NOT NULL"'): set_(
        "tracks", 0, duration_ms=-1
    ),
    # -1 is outside (excluded bound); 0, in the clean lake, is inside
    ("tracks", 'ColumnValues "popularity" between -1 and 101 where "popularity IS NOT NULL"'): set_(
        "tracks", 0, popularity=-1
    ),
    (
        "tracks",
        'ColumnValues "track_uri" matches "spotify:track:[0-9A-Za-z]{22}" where "track_uri IS NOT NULL"',
    ): set_("tracks", 0, track_uri=f"spotify:episode:{STRANGER}"),
    ("tracks", 'IsComplete "track_name"'): set_("tracks", 0, track_name=None),
    ("tracks", 'ColumnValues "isrc" matches "[A-Z]{2}[A-Z0-9]{3}[0-9]{7}" where "isrc IS NOT NULL"'): set_(
        "tracks", 0, isrc="usrc1760783"
    ),
}


def test_every_rule_passes_on_the_clean_lake(tmp_path: Path) -> None:
    results = judge(write_lake(tmp_path / "lake", clean_rows()))

    assert [(r.rule.table, r.rule.text) for r in results if not r.passed] == []
    assert len(results) == len(CASES)


@pytest.mark.parametrize(("table", "rule"), sorted(CASES), ids=[f"{t}: {r[:60]}" for t, r in sorted(CASES)])
def test_each_rule_fails_on_data_that_breaks_it(tmp_path: Path, table: str, rule: str) -> None:
    rows = clean_rows()
    CASES[(table, rule)](rows)

    results = judge(write_lake(tmp_path / "lake", rows))

    failed = {(r.rule.table, r.rule.text) for r in results if not r.passed}
    assert (table, rule) in failed


def test_every_rule_of_quality_has_a_case() -> None:
    rules = {(r.table, r.text) for rules in load_rulesets().values() for r in rules}

    assert rules == set(CASES)
