"""Every view and query of sql/athena runs locally (Trino SQL -> sqlglot -> DuckDB) and returns the expected rows.

The lake is tests/curated_lake.py's tiny two-day lake; every expected row below is worked out by hand
from the story in that module's docstring.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from pyspark.sql import SparkSession

from spotify_etl.aws_twin.athena import (
    QueryError,
    QueryResult,
    format_result,
    load_queries,
    load_views,
    run_named_queries,
    run_query,
    transpile,
)
from spotify_etl.aws_twin.crawler import crawl_lake
from spotify_etl.lake import LakeLayout
from tests.curated_lake import D1, D2, curated_lake_copy


@pytest.fixture(scope="module")
def catalog(spark: SparkSession, tmp_path_factory: pytest.TempPathFactory) -> Path:
    lake = curated_lake_copy(spark, tmp_path_factory.mktemp("athena_lake"))
    crawl_lake(lake)
    return LakeLayout.from_lake(lake).catalog_file


EXPECTED_QUERIES: dict[str, tuple[tuple[str, ...], list[tuple]]] = {
    # no evaluation recorded in this lake; tests/unit/commands/test_quality.py reads recorded ones
    "data_quality_latest": (
        (
            "table_name",
            "rule",
            "severity",
            "outcome",
            "observed",
            "message",
            "rule_line",
            "evaluated_by",
            "evaluated_at",
        ),
        [],
    ),
    "daily_chart_rank_change": (
        (
            "playlist_id",
            "playlist_name",
            "snapshot_date",
            "chart_rank",
            "track_id",
            "track_name",
            "previous_rank",
            "rank_change",
            "movement",
        ),
        [
            ("p1", "Top A", D2, 1, "t2", "Two", 2, 1, "up"),
            ("p1", "Top A", D2, 2, "t1", "One", 1, -1, "down"),
            (
                "p1",
                "Top A",
                D2,
                3,
                "t4",
                "Four",
                None,
                None,
                "new",
            ),  # position 3: the local file is not ranked
            ("p2", "Top B", D2, 1, "t1", "One", None, None, "first snapshot"),
            ("p2", "Top B", D2, 2, "t5", "Five", None, None, "first snapshot"),
        ],
    ),
    "longest_running_tracks": (
        (
            "playlist_id",
            "playlist_name",
            "track_id",
            "track_name",
            "days_on_chart",
            "best_rank",
            "first_seen_date",
            "last_seen_date",
            "still_on_chart",
        ),
        [
            ("p1", "Top A", "t1", "One", 2, 1, D1, D2, True),
            ("p1", "Top A", "t2", "Two", 2, 1, D1, D2, True),
            ("p2", "Top B", "t1", "One", 1, 1, D2, D2, True),
            ("p2", "Top B", "t5", "Five", 1, 2, D2, D2, True),
            ("p1", "Top A", "t4", "Four", 1, 3, D2, D2, True),
            ("p1", "Top A", "t3", "Three", 1, 3, D1, D1, False),
        ],
    ),
    "new_entries_and_dropouts": (
        ("playlist_name", "snapshot_date", "change", "chart_rank", "track_id", "track_name"),
        [
            ("Top A", D2, "new entry", 3, "t4", "Four"),
            ("Top A", D2, "drop-out", 3, "t3", "Three"),
        ],
    ),
    "new_entries_per_day": (
        ("snapshot_date", "playlist_id", "playlist_name", "new_entries", "dropouts"),
        [(D2, "p1", "Top A", 1, 1)],  # Top B has a single snapshot: nothing to compare with
    ),
    "artist_chart_presence": (
        ("artist_id", "artist_name", "chart_entries", "tracks", "playlists", "entry_share"),
        [
            # 8 chart entries in all; ar1 is on t1 (3 entries) and t2 (2), ar2 on t2 (2) and t3 (1)
            ("ar1", "Artist 1", 5, 2, 2, 0.625),
            ("ar2", "Artist Two", 3, 2, 1, 0.375),
            ("ar3", "Artist Three", 2, 2, 2, 0.25),
        ],
    ),
    "genre_share": (
        ("genre", "chart_entries", "enriched_entries", "share"),
        [
            # latest entries with an enriched artist: Top A #1 (t2), #2 (t1), Top B #1 (t1); ar1 keeps its
            # 11-01 genres although its 11-02 row was not enriched; ar3 (t4, t5) never was
            ("dance", 3, 3, 1.0),
            ("pop", 3, 3, 1.0),
        ],
    ),
    "explicit_share_over_time": (
        (
            "snapshot_date",
            "playlist_id",
            "playlist_name",
            "chart_tracks",
            "explicit_tracks",
            "explicit_share",
        ),
        [
            # p1 was "Old A" on D1: one playlist under its latest name, not two
            (D1, "p1", "Top A", 3, 1, 0.3333),
            (D2, "p1", "Top A", 3, 2, 0.6667),
            (D2, "p2", "Top B", 2, 1, 1.0),  # t5's explicit flag is unknown: left out of the share
        ],
    ),
    "release_recency": (
        (
            "album_id",
            "album_name",
            "release_date",
            "release_date_precision",
            "days_since_release",
            "recency",
            "chart_entries",
        ),
        [
            ("a1", "Fresh", date(2026, 10, 20), "day", 13, "0-30 days", 3),
            ("a3", "Mid", date(2025, 6, 1), "month", 519, "1-5 years", 2),
        ],
    ),
    "release_year_distribution": (
        ("release_year", "tracks"),
        [(2025, 2), (2026, 2)],  # t1, t2 (album a1) and t4, t5 (a3) chart now; t3 (a2, 1981) dropped out
    ),
    "rank_over_time": (
        ("playlist_id", "playlist_name", "track_id", "track_name", "snapshot_date", "chart_rank"),
        [
            # p1 was "Old A" and t1 "Uno" on D1: their latest names on every day
            ("p1", "Top A", "t1", "One", D1, 1),
            ("p1", "Top A", "t1", "One", D2, 2),
            ("p1", "Top A", "t2", "Two", D1, 2),
            ("p1", "Top A", "t2", "Two", D2, 1),
            ("p1", "Top A", "t4", "Four", D2, 3),
            ("p2", "Top B", "t1", "One", D2, 1),
            ("p2", "Top B", "t5", "Five", D2, 2),
        ],
    ),
}


def test_every_query_file_has_expected_rows_here() -> None:
    assert sorted(load_queries()) == sorted(EXPECTED_QUERIES)
    assert len(EXPECTED_QUERIES) >= 6


@pytest.mark.parametrize("name", sorted(EXPECTED_QUERIES))
def test_query_returns_the_expected_rows(catalog: Path, name: str) -> None:
    columns, rows = EXPECTED_QUERIES[name]

    result = run_query(catalog, load_queries()[name].sql, name)

    assert result.columns == columns
    assert list(result.rows) == rows


def test_run_named_queries_runs_them_all_in_one_session(catalog: Path) -> None:
    results = run_named_queries(catalog)

    assert {n: list(r.rows) for n, r in results.items()} == {
        n: rows for n, (_, rows) in EXPECTED_QUERIES.items()
    }


def test_view_current_artists_keeps_the_latest_name_and_the_latest_enrichment(catalog: Path) -> None:
    result = run_query(
        catalog,
        "SELECT artist_id, artist_name, genres, popularity, followers, enriched_date, first_seen_date, last_seen_date "
        "FROM current_artists ORDER BY artist_id",
    )

    assert list(result.rows) == [
        ("ar1", "Artist 1", ["pop", "dance"], 50, 10, D1, D1, D2),
        ("ar2", "Artist Two", ["pop"], 50, 10, D2, D1, D2),
        ("ar3", "Artist Three", None, None, None, None, D2, D2),
    ]


def test_views_current_tracks_albums_playlists(catalog: Path) -> None:
    tracks = run_query(
        catalog,
        "SELECT track_id, track_name, album_id, artist_ids, is_explicit, first_seen_date, last_seen_date "
        "FROM current_tracks ORDER BY track_id",
    )
    albums = run_query(
        catalog,
        "SELECT album_id, album_name, release_date, release_date_raw, release_date_precision "
        "FROM current_albums ORDER BY album_id",
    )
    playlists = run_query(
        catalog,
        "SELECT playlist_id, playlist_name, followers, item_count, snapshots, first_snapshot_date, "
        "last_snapshot_date FROM current_playlists ORDER BY playlist_id",
    )

    assert list(tracks.rows) == [
        ("t1", "One", "a1", ["ar1"], True, D1, D2),
        ("t2", "Two", "a1", ["ar1", "ar2"], False, D1, D2),
        ("t3", "Three", "a2", ["ar2"], False, D1, D1),
        ("t4", "Four", "a3", ["ar3"], True, D2, D2),
        ("t5", "Five", "a3", ["ar3"], None, D2, D2),
    ]
    assert list(albums.rows) == [
        ("a1", "Fresh", date(2026, 10, 20), "2026-10-20", "day"),
        ("a2", "Classic", date(1981, 1, 1), "1981", "year"),
        ("a3", "Mid", date(2025, 6, 1), "2025-06", "month"),
    ]
    assert list(playlists.rows) == [
        ("p1", "Top A", 1000, 4, 2, D1, D2),
        ("p2", "Top B", None, 3, 1, D2, D2),
    ]


def test_view_chart_entries_ranks_tracks_only(catalog: Path) -> None:
    result = run_query(
        catalog,
        "SELECT snapshot_date, playlist_id, chart_rank, position, track_id FROM chart_entries "
        "WHERE playlist_id = 'p1' ORDER BY snapshot_date, chart_rank",
    )

    assert list(result.rows) == [
        (D1, "p1", 1, 0, "t1"),
        (D1, "p1", 2, 1, "t2"),
        (D1, "p1", 3, 2, "t3"),
        (D2, "p1", 1, 0, "t2"),
        (D2, "p1", 2, 1, "t1"),
        (D2, "p1", 3, 3, "t4"),  # position 2 is a local file
    ]


def test_view_chart_tracks_counts_a_track_listed_twice_once_at_its_best_rank(catalog: Path) -> None:
    entries = run_query(
        catalog,
        "SELECT chart_rank, track_id FROM chart_entries WHERE playlist_id = 'p2' ORDER BY chart_rank",
    )
    tracks = run_query(
        catalog,
        "SELECT snapshot_date, playlist_name, track_id, chart_rank, listings, track_name, artist_ids, is_explicit "
        "FROM chart_tracks WHERE playlist_id = 'p2' ORDER BY chart_rank",
    )

    assert list(entries.rows) == [(1, "t1"), (2, "t5"), (3, "t1")]
    assert list(tracks.rows) == [
        (D2, "Top B", "t1", 1, 2, "One", ["ar1"], True),
        (D2, "Top B", "t5", 2, 1, "Five", ["ar3"], None),
    ]


def test_view_playlist_snapshot_sequence(catalog: Path) -> None:
    result = run_query(
        catalog,
        "SELECT playlist_id, snapshot_date, previous_snapshot_date, is_latest FROM playlist_snapshot_sequence "
        "ORDER BY playlist_id, snapshot_date",
    )

    assert list(result.rows) == [("p1", D1, None, False), ("p1", D2, D1, True), ("p2", D2, None, True)]


def test_max_by_keeps_trino_semantics_for_a_null_value(catalog: Path) -> None:
    sql = "SELECT max_by(x, y) AS latest, min_by(x, y) AS earliest FROM (VALUES (1, 1), (NULL, 2), (5, NULL)) AS t (x, y)"

    result = run_query(catalog, sql)

    # Trino: x of the row with the greatest y, NULL included; rows with a NULL y ignored
    assert list(result.rows) == [(None, 1)]
    assert "ARG_MAX_NULL" in transpile(sql)[0]


def test_every_sql_file_opens_with_its_question() -> None:
    files = [*load_views(), *load_queries().values()]

    assert all(f.sql.startswith("-- ") and f.question.endswith("?") for f in files), [
        f.name for f in files if not f.question.endswith("?")
    ]


def test_views_are_created_after_the_views_they_select_from(tmp_path: Path) -> None:
    (tmp_path / "views").mkdir()
    for name, body in {
        "a_top": "SELECT * FROM z_base",
        "m_mid": "SELECT 2",
        "z_base": "SELECT * FROM m_mid",
    }.items():
        (tmp_path / "views" / f"{name}.sql").write_text(f"-- Which?\nCREATE OR REPLACE VIEW {name} AS {body}")

    ordered = load_views(tmp_path)

    assert [v.name for v in ordered] == ["m_mid", "z_base", "a_top"]


def test_a_cycle_of_views_is_refused(tmp_path: Path) -> None:
    (tmp_path / "views").mkdir()
    for name, other in (("v1", "v2"), ("v2", "v1")):
        (tmp_path / "views" / f"{name}.sql").write_text(
            f"-- Which?\nCREATE OR REPLACE VIEW {name} AS SELECT * FROM {other}"
        )

    with pytest.raises(QueryError, match=r"reference each other in a cycle: \['v1', 'v2'\]"):
        load_views(tmp_path)


def test_a_file_without_its_question_comment_is_refused(tmp_path: Path) -> None:
    (tmp_path / "views").mkdir()
    (tmp_path / "queries").mkdir()
    (tmp_path / "queries" / "bare.sql").write_text("SELECT 1")

    with pytest.raises(QueryError, match=r"bare.sql: an Athena SQL file must open with a '-- ' comment"):
        load_queries(tmp_path)


def test_a_failing_query_names_itself_and_shows_the_transpiled_sql(catalog: Path) -> None:
    with pytest.raises(
        QueryError,
        match=r"(?s)mine failed on the local catalog: .*no_such_table.*\n  transpiled SQL: SELECT \* FROM no_such_table",
    ):
        run_query(catalog, "SELECT * FROM no_such_table", "mine")


def test_unparseable_sql_is_refused() -> None:
    with pytest.raises(QueryError, match=r"not valid Athena \(Trino\) SQL"):
        transpile("SELECT FROM WHERE (")


def test_result_formats() -> None:
    result = QueryResult("q", ("a", "b"), (("x", None), ("y,z", 1.5)))

    assert format_result(result, "csv") == 'a,b\nx,\n"y,z",1.5'
    assert json.loads(format_result(result, "json")) == [{"a": "x", "b": None}, {"a": "y,z", "b": 1.5}]
    assert format_result(result, "table").splitlines() == [
        "+-----+-----+",
        "| a   | b   |",
        "+-----+-----+",
        "| x   |     |",
        "| y,z | 1.5 |",
        "+-----+-----+",
        "(2 rows)",
    ]


def test_the_query_command_answers_named_and_inline_sql(
    catalog: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from spotify_etl.cli import main

    lake = str(catalog.parent)

    named = main(["query", "--lake", lake, "--name", "new_entries_per_day", "--format", "csv"])
    named_out = capsys.readouterr().out
    inline = main(
        [
            "query",
            "--lake",
            lake,
            "--format",
            "json",
            "SELECT track_id FROM current_tracks WHERE NOT is_explicit ORDER BY 1",
        ]
    )
    inline_out = capsys.readouterr().out
    unknown = main(["query", "--lake", lake, "--name", "nope"])
    unknown_err = capsys.readouterr().err

    assert (named, inline, unknown) == (0, 0, 2)
    assert named_out.splitlines() == [
        "snapshot_date,playlist_id,playlist_name,new_entries,dropouts",
        f"{D2},p1,Top A,1,1",
    ]
    assert json.loads(inline_out) == [{"track_id": "t2"}, {"track_id": "t3"}]
    assert "no query named 'nope'; known: artist_chart_presence," in unknown_err
