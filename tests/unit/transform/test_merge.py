"""The merge rule: which rows survive, and that the result depends only on the set of input rows (I1)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import reduce
from typing import Any

import pytest
from chispa import assert_df_equality
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from spotify_etl.transform import registry
from spotify_etl.transform.merge import apply_merge_rule
from spotify_etl.transform.registry import TABLE_KEYS, TABLE_SCHEMAS
from tests import builders as b

pytestmark = pytest.mark.slow  # a module of slower tests: scheduled first (tests/conftest.py)

T0 = datetime(2026, 11, 22, 3, 0, 5, tzinfo=UTC)
T1 = T0 + timedelta(hours=1)
T2 = T0 + timedelta(hours=2)
DAY1, DAY2 = "2026-11-22", "2026-11-23"
NEXT_DAY = datetime(2026, 11, 23, 3, 0, 5, tzinfo=UTC)


def rows_df(spark, table: str, rows: list[tuple[Any, ...]]):
    return spark.createDataFrame(rows, TABLE_SCHEMAS[table])


def by_row(df):
    return df.orderBy(*df.columns)


def assert_merges_to(spark, table, given_rows, expected_rows):
    actual_df = apply_merge_rule(table, rows_df(spark, table, given_rows))
    assert_df_equality(by_row(actual_df), by_row(rows_df(spark, table, expected_rows)))


# ---------------------------------------------------------------------------------------------------
# Whole-observation tables
# ---------------------------------------------------------------------------------------------------


def item(position, item_id, at, source, day=DAY1, snapshot="s"):
    kind = "unavailable" if item_id is None else "track"
    uri = None if item_id is None else f"spotify:track:{item_id}"
    return ("pl1", snapshot, position, kind, item_id, uri, item_id, None, None, at, source, day)


def test_playlist_items_keep_only_the_newest_observation_of_the_day_with_all_its_items(spark):
    older = [item(0, "t1", T0, "file:///a"), item(1, "t2", T0, "file:///a"), item(2, "t3", T0, "file:///a")]
    newer = [item(0, "t2", T1, "file:///b"), item(1, None, T1, "file:///b")]
    next_day = [item(0, "t9", NEXT_DAY, "file:///c", day=DAY2)]
    other_playlist = [
        ("pl2", "x", 0, "episode", "e1", "spotify:episode:e1", None, None, "u", T0, "file:///d", DAY1)
    ]

    assert_merges_to(
        spark,
        "playlist_items",
        older + newer + next_day + other_playlist,
        newer + next_day + other_playlist,  # position 2 of the older observation is gone
    )


def test_playlist_items_same_instant_source_file_decides_and_a_rerun_collapses(spark):
    a = [item(0, "t1", T0, "file:///a"), item(1, "t2", T0, "file:///a")]
    z = [item(0, "t3", T0, "file:///z")]

    assert_merges_to(spark, "playlist_items", a + z + z + a, z)


def test_playlist_snapshots_newest_observation_per_playlist_and_day(spark):
    def snap(playlist_id, followers, at, source, day=DAY1):
        return (playlist_id, "s", "name", None, "o", None, followers, None, None, 3, at, source, day)

    given_rows = [
        snap("pl1", 10, T0, "file:///a"),
        snap("pl1", None, T1, "file:///b"),
        snap("pl1", 12, T1, "file:///a"),
        snap("pl1", 13, NEXT_DAY, "file:///c", DAY2),
        snap("pl2", 1, T0, "file:///d"),
    ]
    expected_rows = [given_rows[1], given_rows[3], given_rows[4]]
    assert_merges_to(spark, "playlist_snapshots", given_rows, expected_rows)


# ---------------------------------------------------------------------------------------------------
# Per-key tables
# ---------------------------------------------------------------------------------------------------


def track(track_id, popularity, at, source, day=DAY1):
    return (track_id, "n", "al", ["ar"], 1, False, None, popularity, 1, 1, "u", None, at, source, day)


def test_tracks_row_of_the_newest_observation_holding_each_key(spark):
    given_rows = [
        track("t1", 50, T0, "file:///a"),
        track("t1", None, T1, "file:///b"),  # newer, even though thinner
        track("t2", 40, T0, "file:///a"),  # only in the older observation: kept
        track("t1", 60, NEXT_DAY, "file:///c", DAY2),
    ]
    assert_merges_to(spark, "tracks", given_rows, given_rows[1:])


def test_track_artists_and_albums_by_key(spark):
    track_artists = [
        ("t1", "a", 0, T0, "file:///a", DAY1),
        ("t1", "a", 1, T1, "file:///b", DAY1),
        ("t1", "b", 0, T1, "file:///b", DAY1),
    ]
    assert_merges_to(spark, "track_artists", track_artists, track_artists[1:])

    def album(album_id, name, at, source):
        return (album_id, name, "album", None, "0000", "year", None, [], None, at, source, DAY1)

    albums = [album("al1", "Old", T0, "file:///a"), album("al1", "New", T0, "file:///b")]
    assert_merges_to(spark, "albums", albums, albums[1:])


def artist(artist_id, genres, popularity, at, source="file:///a", day=DAY1):
    return (artist_id, "name", "uri", genres, popularity, None, at, source, day)


def test_artists_enrichment_ranks_above_recency(spark):
    given_rows = [
        # An enriched earlier observation beats a later thin one.
        artist("ar1", ["rock"], 70, T0),
        artist("ar1", None, None, T1),
        # A later enriched one beats an older enriched one, even with fewer fields.
        artist("ar2", ["rock"], 70, T0),
        artist("ar2", [], None, T1),
        artist("ar2", None, None, T2),
        # Without enrichment, the newest wins.
        artist("ar3", None, None, T0),
        artist("ar3", None, None, T1, source="file:///b"),
    ]
    expected_rows = [given_rows[0], given_rows[3], given_rows[6]]
    assert_merges_to(spark, "artists", given_rows, expected_rows)


def test_a_tie_within_one_observation_goes_to_the_smallest_content_whatever_the_order(spark):
    low, high = artist("ar1", ["a"], 1, T0), artist("ar1", ["b"], None, T0)
    assert_merges_to(spark, "artists", [low, high], [low])
    assert_merges_to(spark, "artists", [high, low], [low])


def test_merge_of_nothing_is_empty(spark):
    assert_merges_to(spark, "tracks", [], [])


def test_unknown_table_is_rejected(spark):
    df = rows_df(spark, "tracks", [])
    with pytest.raises(KeyError, match="unknown curated table 'songs'"):
        apply_merge_rule("songs", df)


def test_merge_output_has_the_exact_schema_even_from_nullable_rows(spark):
    # Rows read back from Parquet come with every column nullable.
    loose = TABLE_SCHEMAS["track_artists"]
    nullable_df = spark.createDataFrame(
        [("t1", "a", 0, T0, "file:///a", DAY1)],
        "track_id string, artist_id string, artist_position int, extracted_at timestamp, "
        "source_file string, snapshot_date string",
    )
    assert apply_merge_rule("track_artists", nullable_df).schema == loose


# ---------------------------------------------------------------------------------------------------
# End to end through the table builders: a later, thinner observation of the same day
# ---------------------------------------------------------------------------------------------------


def test_build_then_merge_two_observations_of_a_day(spark):
    rb = b.simple_artist("Royal Blood", id="ar1")
    t1 = b.track(id="t1", artists=[rb], album=b.album(id="al1", artists=[rb]), popularity=58)
    t2 = b.track(id="t2", artists=[rb], album=b.album(id="al1", artists=[rb]), popularity=10)
    morning = b.envelope(
        items=[b.playlist_item(t1), b.playlist_item(t2)],
        artists=[b.full_artist(id="ar1", name="Royal Blood", genres=["rock"], popularity=70, followers=9)],
        extracted_at=T0,
    )
    noon = b.envelope(items=[b.playlist_item({**t1, "popularity": 59})], artists=[], extracted_at=T1)
    built = registry.build_tables(b.observations_df(spark, [noon, morning]))

    merged = {table: apply_merge_rule(table, df) for table, df in built.items()}

    m, n = b.source_file(morning), b.source_file(noon)
    items_df = merged["playlist_items"].select("position", "track_id", "source_file")
    assert_df_equality(
        items_df,
        spark.createDataFrame(
            [(0, "t1", n)], "position int not null, track_id string, source_file string not null"
        ),
    )
    tracks_df = merged["tracks"].select("track_id", "popularity", "source_file")
    assert_df_equality(
        by_row(tracks_df),
        by_row(
            spark.createDataFrame(
                [("t1", 59, n), ("t2", 10, m)],
                "track_id string not null, popularity bigint, source_file string not null",
            )
        ),
    )
    artists_df = merged["artists"].select("artist_id", "genres", "popularity", "followers", "source_file")
    assert_df_equality(
        artists_df,
        spark.createDataFrame(
            [("ar1", ["rock"], 70, 9, m)],
            "artist_id string not null, genres array<string>, popularity bigint, followers bigint, "
            "source_file string not null",
        ),
    )


def test_track_artists_follow_the_observation_tracks_keeps_a_dropped_credit_disappears(spark):
    ar1, ar2 = b.simple_artist("One", id="ar1"), b.simple_artist("Two", id="ar2")
    morning = b.envelope(items=[b.playlist_item(b.track(id="t1", artists=[ar1, ar2]))], extracted_at=T0)
    noon = b.envelope(items=[b.playlist_item(b.track(id="t1", artists=[ar2]))], extracted_at=T1)
    built = registry.build_tables(b.observations_df(spark, [morning, noon]))

    merged = {table: apply_merge_rule(table, built[table]) for table in ("tracks", "track_artists")}

    n = b.source_file(noon)
    assert_df_equality(
        merged["tracks"].select("track_id", "artist_ids", "source_file"),
        spark.createDataFrame(
            [("t1", ["ar2"], n)],
            "track_id string not null, artist_ids array<string>, source_file string not null",
        ),
    )
    # ar1's morning credit (position 0) is not kept next to noon's: the day's credits are noon's, as in tracks
    assert_df_equality(
        merged["track_artists"].select("track_id", "artist_id", "artist_position", "source_file"),
        spark.createDataFrame(
            [("t1", "ar2", 0, n)],
            "track_id string not null, artist_id string not null, artist_position int not null, "
            "source_file string not null",
        ),
    )


# ---------------------------------------------------------------------------------------------------
# Properties: idempotent, order- and batch-independent, and equal to a plain-Python model of the rule
# ---------------------------------------------------------------------------------------------------

_moments = st.sampled_from([T0, T1])
_sources = st.sampled_from(["file:///a", "file:///b"])
_days = st.sampled_from([DAY1, DAY2])
_maybe = st.one_of(st.none(), st.integers(min_value=0, max_value=2))

ARTIST_ROWS = st.tuples(
    st.sampled_from(["ar1", "ar2"]),
    st.sampled_from([None, "X", "Y"]),
    st.sampled_from([None, "spotify:artist:u"]),
    st.sampled_from([None, [], ["rock"], ["pop", "rock"]]),
    _maybe,
    _maybe,
    _moments,
    _sources,
    _days,
)
ITEM_ROWS = st.tuples(
    st.sampled_from(["pl1", "pl2"]),
    st.sampled_from([None, "s1"]),
    st.integers(min_value=0, max_value=2),
    st.sampled_from(["track", "unavailable"]),
    st.sampled_from([None, "t1", "t2"]),
    st.none(),
    st.none(),
    st.none(),
    st.sampled_from([None, "u1"]),
    _moments,
    _sources,
    _days,
)
TRACK_ROWS = st.tuples(
    st.sampled_from(["t1", "t2"]),
    st.sampled_from([None, "A", "B"]),
    st.none(),
    st.sampled_from([None, [], ["a"], ["a", "b"]]),
    st.none(),
    st.sampled_from([None, True, False]),
    st.none(),
    _maybe,
    st.none(),
    st.none(),
    st.none(),
    st.none(),
    _moments,
    _sources,
    _days,
)
STRATEGIES = {"artists": ARTIST_ROWS, "playlist_items": ITEM_ROWS, "tracks": TRACK_ROWS}


def _nulls_first(value):
    return (0,) if value is None else (1, value)


def python_merge(table: str, rows: list[tuple[Any, ...]]) -> set[tuple[Any, ...]]:
    """The merge rule of docs/design.md s.3, written independently in plain Python, as the oracle."""
    names = TABLE_SCHEMAS[table].fieldNames()
    key_at = [names.index(k) for k in TABLE_KEYS[table]]
    at, source = names.index("extracted_at"), names.index("source_file")
    content_at = [
        i for i, n in enumerate(names) if n not in (*TABLE_KEYS[table], "extracted_at", "source_file")
    ]

    def content(row):
        return tuple(_nulls_first(row[i]) for i in content_at)

    if table in ("playlist_items", "track_artists"):  # whole observation per (first column, day)
        latest: dict[tuple[Any, ...], tuple[Any, Any]] = {}
        for row in rows:
            group = (row[0], row[names.index("snapshot_date")])
            latest[group] = max(latest.get(group, (row[at], row[source])), (row[at], row[source]))
        rows = [r for r in rows if (r[at], r[source]) == latest[(r[0], r[names.index("snapshot_date")])]]
    best: dict[tuple[Any, ...], tuple[Any, ...]] = {}
    for row in rows:
        key = tuple(row[i] for i in key_at)
        if key not in best or _better(table, row, best[key], names, at, source, content):
            best[key] = row
    return {_hashable(r) for r in best.values()}


def _better(table, row, other, names, at, source, content) -> bool:
    enriched = names.index("genres") if table == "artists" else None

    def rank(r):
        return (r[enriched] is not None) if enriched is not None else True, r[at], r[source]

    if rank(row) != rank(other):
        return rank(row) > rank(other)
    return content(row) < content(other)


def _hashable(row):
    """A comparable form of a row: lists as tuples, datetimes as instants.

    Spark collects timestamps as naive local datetimes; ``timestamp()`` reads a naive datetime as local
    time and an aware one by its zone, so both sides meet at the same instant.
    """
    return tuple(
        tuple(v) if isinstance(v, list) else v.timestamp() if isinstance(v, datetime) else v for v in row
    )


def _collected(df) -> set[tuple[Any, ...]]:
    return {_hashable(tuple(r)) for r in df.collect()}


@pytest.mark.parametrize("table", sorted(STRATEGIES))
def test_merge_equals_the_model_and_is_idempotent_order_and_batch_independent(spark, table):
    @settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(data=st.data())
    def check(data):
        rows = data.draw(st.lists(STRATEGIES[table], min_size=1, max_size=10), label="rows")
        permuted = data.draw(st.permutations(rows), label="permuted")
        cuts = (
            sorted(data.draw(st.sets(st.integers(1, len(rows) - 1), max_size=2), label="cuts"))
            if len(rows) > 1
            else []
        )
        batches = [permuted[i:j] for i, j in zip([0, *cuts], [*cuts, len(permuted)], strict=True)]

        once_df = apply_merge_rule(table, rows_df(spark, table, rows))
        once = _collected(once_df)

        # Equal to the independent model of the rule.
        assert once == python_merge(table, rows)

        # Idempotent, and independent of row order and of the split into runs.
        assert _collected(apply_merge_rule(table, once_df)) == once
        folded_df = reduce(
            lambda merged_df, batch: apply_merge_rule(
                table, merged_df.unionByName(rows_df(spark, table, batch))
            ),
            batches[1:],
            apply_merge_rule(table, rows_df(spark, table, batches[0])),
        )
        assert _collected(folded_df) == once

    check()
