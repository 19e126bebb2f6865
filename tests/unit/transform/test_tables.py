"""The six table transforms on tiny observations built with the payload builders."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from chispa import assert_df_equality
from pyspark.sql import SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import DateType, StringType, StructField, StructType

from spotify_etl.transform import merge, registry, tables
from spotify_etl.transform.conform import conform
from spotify_etl.transform.registry import CURATED_TABLES, TABLE_SCHEMAS
from tests import builders as b

pytestmark = pytest.mark.slow  # a module of slower tests: scheduled first (tests/conftest.py)

T0 = datetime(2026, 11, 22, 3, 0, 5, tzinfo=UTC)
FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "spotify"


def provenance(env: dict[str, Any]) -> tuple[datetime, str, str]:
    """(extracted_at, source_file, snapshot_date) of an envelope, as the table rows carry them."""
    moment = datetime.strptime(env["extracted_at"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    return moment, b.source_file(env), moment.strftime("%Y-%m-%d")


def expected_df(spark: SparkSession, table: str, rows: list[tuple[Any, ...]], env: dict[str, Any]):
    """Rows given without their provenance columns, all from the observation ``env``."""
    return spark.createDataFrame([(*row, *provenance(env)) for row in rows], TABLE_SCHEMAS[table])


def merged(table: str, rows_df):
    """``table`` as the run stages it from ``rows_df``: the builders emit every occurrence of a key, and the merge
    rule reduces them (within an observation as across observations)."""
    return merge.apply_merge_rule(table, rows_df)


def by_row(df):
    """Order rows by every column, so that chispa compares whole sorted DataFrames."""
    return df.orderBy(*df.columns)


# ---------------------------------------------------------------------------------------------------
# playlist_items: item keys and item types
# ---------------------------------------------------------------------------------------------------


def test_playlist_items_covers_every_item_shape_and_type(spark):
    new_track = b.track(id="t1", name="New")
    old_track = b.track(id="t_old", name="Old")
    env = b.envelope(
        playlist=b.playlist(id="pl1", snapshot_id="snap1"),
        items=[
            b.playlist_item(new_track, key="item", added_at="2026-11-01T10:00:00Z", added_by="u1"),
            b.playlist_item(new_track, key="track", added_at="2026-11-02T10:00:00Z", added_by="u2"),
            # Both keys, different objects: the 2026 name wins.
            {**b.playlist_item(new_track, key="item", added_by="u1"), "track": old_track},
            # Only the older key is non-null.
            {**b.playlist_item(old_track, key="track", added_by="u1"), "item": None},
            b.playlist_item(None, added_at=None, added_by=None),
            b.playlist_item(b.local_track(name="Demo", artist="Me", album_name="Tapes", duration_ms=61000)),
            # A local file flagged only on the item, not on the playable.
            b.playlist_item(b.track(id="t_flag", name="Flag"), is_local=True),
            b.playlist_item(b.episode(id="e1"), key="both", added_at="not a date"),
            # A playable that has no id and is not local: a track without id.
            b.playlist_item(b.track(id=None, name="Ghost")),
            None,  # a null item object
        ],
    )

    actual_df = tables.playlist_items(b.observations_df(spark, [env]))

    d1 = datetime(2026, 11, 1, 10, tzinfo=UTC)
    d2 = datetime(2026, 11, 2, 10, tzinfo=UTC)
    rows = [
        ("pl1", "snap1", 0, "track", "t1", "spotify:track:t1", "t1", d1, "u1"),
        ("pl1", "snap1", 1, "track", "t1", "spotify:track:t1", "t1", d2, "u2"),
        ("pl1", "snap1", 2, "track", "t1", "spotify:track:t1", "t1", d1, "u1"),
        ("pl1", "snap1", 3, "track", "t_old", "spotify:track:t_old", "t_old", d1, "u1"),
        ("pl1", "snap1", 4, "unavailable", None, None, None, None, None),
        ("pl1", "snap1", 5, "local", None, "spotify:local:Me:Tapes:Demo:61", None, d1, "owner1"),
        ("pl1", "snap1", 6, "local", None, "spotify:track:t_flag", None, d1, "owner1"),
        ("pl1", "snap1", 7, "episode", "e1", "spotify:episode:e1", None, None, "owner1"),
        ("pl1", "snap1", 8, "track", None, None, None, d1, "owner1"),
        ("pl1", "snap1", 9, "unavailable", None, None, None, None, None),
    ]
    assert_df_equality(by_row(actual_df), by_row(expected_df(spark, "playlist_items", rows, env)))


def test_playlist_items_of_an_empty_playlist_is_empty(spark):
    env = b.envelope(items=[])
    actual_df = tables.playlist_items(b.observations_df(spark, [env]))
    assert_df_equality(actual_df, expected_df(spark, "playlist_items", [], env))


# ---------------------------------------------------------------------------------------------------
# playlist_snapshots
# ---------------------------------------------------------------------------------------------------


def test_playlist_snapshots_one_row_per_observation_with_nulls_for_missing_fields(spark):
    full = b.envelope(
        playlist=b.playlist(
            id="pl1",
            name="Rap RU",
            snapshot_id="s1",
            description="desc",
            owner_id="o1",
            owner_display_name="Owner One",
            followers=12,
            public=True,
            collaborative=False,
        ),
        items=[b.playlist_item(), b.playlist_item(None)],
    )
    thin = b.envelope(
        playlist=b.playlist(
            id="pl1",
            name="Rap RU",
            snapshot_id="s2",
            description=None,
            owner_id="o1",
            owner_display_name=None,
            followers=None,
            public=None,
            collaborative=True,
        ),
        items=[],
        extracted_at=T0 + timedelta(hours=1),
    )
    thin["playlist"]["owner"] = None

    actual_df = tables.playlist_snapshots(b.observations_df(spark, [full, thin]))

    expected = spark.createDataFrame(
        [
            ("pl1", "s1", "Rap RU", "desc", "o1", "Owner One", 12, True, False, 2, *provenance(full)),
            ("pl1", "s2", "Rap RU", None, None, None, None, None, True, 0, *provenance(thin)),
        ],
        TABLE_SCHEMAS["playlist_snapshots"],
    )
    assert_df_equality(by_row(actual_df), by_row(expected))


# ---------------------------------------------------------------------------------------------------
# tracks
# ---------------------------------------------------------------------------------------------------


def test_tracks_keeps_only_track_items_and_one_row_per_track_once_merged(spark):
    al = b.album(id="al1", name="Typhoons")
    ar1, ar2 = b.simple_artist("Royal Blood", id="ar1"), b.simple_artist("Guest", id="ar2")
    typhoons = b.track(
        id="t1",
        name="Typhoons",
        album=al,
        artists=[ar1, ar2],
        duration_ms=236933,
        explicit=False,
        popularity=58,
        disc_number=1,
        track_number=3,
        isrc="GBAHT2001121",
        preview_url=None,
    )
    stripped = b.track(
        id="t2",
        name="Stripped",
        album=None,
        artists=[b.simple_artist("Nobody", id=None), ar1],
        popularity=b.OMIT,  # Development Mode drops it
        isrc=b.OMIT,
        explicit=None,
        disc_number=None,
        track_number=None,
        duration_ms=None,
        preview_url=b.OMIT,
    )
    env = b.envelope(
        items=[
            b.playlist_item(typhoons),
            b.playlist_item(b.episode(id="e1")),
            b.playlist_item(typhoons, key="track"),  # the same track listed twice
            b.playlist_item(b.local_track()),
            b.playlist_item(None),
            b.playlist_item(stripped, key="both"),
            b.playlist_item(b.track(id=None, name="No id")),
            None,
        ]
    )

    built_df = tables.tracks(b.observations_df(spark, [env]))
    actual_df = merged("tracks", built_df)

    assert sorted(row.track_id for row in built_df.collect()) == ["t1", "t1", "t2"]  # every occurrence
    rows = [
        (
            "t1",
            "Typhoons",
            "al1",
            ["ar1", "ar2"],
            236933,
            False,
            "GBAHT2001121",
            58,
            1,
            3,
            "spotify:track:t1",
            None,
        ),
        ("t2", "Stripped", None, ["ar1"], None, None, None, None, None, None, "spotify:track:t2", None),
    ]
    assert_df_equality(by_row(actual_df), by_row(expected_df(spark, "tracks", rows, env)))


def test_tracks_two_observations_of_a_day_both_yield_rows(spark):
    t = b.track(id="t1", popularity=50, album=b.album(id="al1"), artists=[b.simple_artist(id="ar1")])
    first = b.envelope(items=[b.playlist_item(t)])
    second = b.envelope(
        items=[b.playlist_item({**t, "popularity": 51})], extracted_at=T0 + timedelta(minutes=5)
    )

    actual_df = tables.tracks(b.observations_df(spark, [first, second])).select(
        "track_id", "popularity", "extracted_at"
    )

    expected = spark.createDataFrame(
        [("t1", 50, T0), ("t1", 51, T0 + timedelta(minutes=5))],
        "track_id string not null, popularity bigint, extracted_at timestamp not null",
    )
    assert_df_equality(by_row(actual_df), by_row(expected))


def test_tracks_same_id_with_different_content_in_one_observation_merges_to_the_smallest_row(spark):
    low = b.track(id="t1", popularity=10, album=b.album(id="al1"), artists=[b.simple_artist(id="ar1")])
    high = {**low, "popularity": 90}
    for items in ([high, low], [low, high]):
        env = b.envelope(items=[b.playlist_item(t) for t in items])
        actual_df = merged("tracks", tables.tracks(b.observations_df(spark, [env]))).select(
            "track_id", "popularity"
        )
        expected = spark.createDataFrame([("t1", 10)], "track_id string not null, popularity bigint")
        assert_df_equality(actual_df, expected)


# ---------------------------------------------------------------------------------------------------
# albums: release dates and images
# ---------------------------------------------------------------------------------------------------

RELEASE_DATE_CASES = [
    ("1981", "year", date(1981, 1, 1)),
    ("1981-12", "month", date(1981, 12, 1)),
    ("1981-12-05", "day", date(1981, 12, 5)),
    ("1981", None, date(1981, 1, 1)),  # precision missing: the length decides
    ("1981-12", None, date(1981, 12, 1)),
    ("1981-12-05", None, date(1981, 12, 5)),
    ("0000", "year", None),  # Spotify's placeholder for an unknown year
    ("0000", None, None),
    ("1981-02-30", "day", None),  # not a real day
    ("1981-13", "month", None),
    ("1981-12-05", "year", None),  # does not fit its precision
    ("81", None, None),
    ("", "day", None),
    (None, "day", None),
    (None, None, None),
]


def test_release_date_by_precision(spark):
    schema = StructType(
        [
            StructField("raw", StringType()),
            StructField("precision", StringType()),
            StructField("expected", DateType()),
        ]
    )
    cases_df = spark.createDataFrame(RELEASE_DATE_CASES, schema)

    actual_df = cases_df.select(
        "raw",
        "precision",
        tables.release_date(F.col("raw"), F.col("precision")).alias("expected"),
    )

    assert_df_equality(actual_df, cases_df, ignore_nullable=True)


def test_widest_image_url(spark):
    def img(url, width):
        return {"url": url, "width": width, "height": width}

    cases = [
        ([img("c", 64), img("b", 640), img("a", 300)], "b"),
        ([img("z", 640), img("y", 640), img("x", 64)], "y"),  # a tie on width: the smallest url
        ([img("m", None), img("k", None)], "k"),  # mosaic covers carry no width
        ([img(None, 1000), img("s", 10)], "s"),
        ([], None),
        (None, None),
    ]
    image_type = "array<struct<url:string,width:bigint,height:bigint>>"
    cases_df = spark.createDataFrame(cases, f"images {image_type}, expected string")

    actual_df = cases_df.select("images", tables.widest_image_url(F.col("images")).alias("expected"))

    assert_df_equality(actual_df, cases_df, ignore_nullable=True)


def test_albums_from_track_items_with_dates_images_and_artists(spark):
    ar1, ar2 = b.simple_artist("A", id="ar1"), b.simple_artist("B", id="ar2")
    year_album = b.album(
        id="al1",
        name="Old",
        album_type="album",
        release_date="1981",
        release_date_precision="year",
        total_tracks=9,
        artists=[ar1, b.simple_artist("Anon", id=None), ar2],
        images=[b.image(300, url="u300"), b.image(640, url="u640b"), b.image(640, url="u640a")],
    )
    odd_album = b.album(
        id="al2",
        name="Odd",
        album_type=None,
        release_date="0000",
        release_date_precision=b.OMIT,
        total_tracks=b.OMIT,
        artists=None,
        images=None,
    )
    env = b.envelope(
        items=[
            b.playlist_item(b.track(id="t1", album=year_album, artists=[ar1])),
            b.playlist_item(b.track(id="t2", album=year_album, artists=[ar2])),
            b.playlist_item(b.track(id="t3", album=odd_album, artists=[ar1])),
            b.playlist_item(b.track(id="t4", album=b.album(id=None, name="No id"), artists=[ar1])),
            b.playlist_item(b.track(id="t5", album=None, artists=[ar1])),
            b.playlist_item(b.local_track()),
            b.playlist_item(b.episode()),
        ]
    )

    built_df = tables.albums(b.observations_df(spark, [env]))
    actual_df = merged("albums", built_df)

    assert sorted(row.album_id for row in built_df.collect()) == ["al1", "al1", "al2"]  # every occurrence

    rows = [
        ("al1", "Old", "album", date(1981, 1, 1), "1981", "year", 9, ["ar1", "ar2"], "u640a"),
        ("al2", "Odd", None, None, "0000", None, None, [], None),
    ]
    assert_df_equality(by_row(actual_df), by_row(expected_df(spark, "albums", rows, env)))


# ---------------------------------------------------------------------------------------------------
# artists and track_artists
# ---------------------------------------------------------------------------------------------------


def test_artists_from_credits_album_artists_and_full_objects_enriched_row_wins(spark):
    ar1 = b.simple_artist("Royal Blood", id="ar1")
    ar2 = b.simple_artist("Guest", id="ar2")
    ar3 = b.simple_artist("Album Only", id="ar3")
    env = b.envelope(
        items=[
            b.playlist_item(b.track(id="t1", artists=[ar1, ar2], album=b.album(id="al1", artists=[ar3]))),
            b.playlist_item(b.track(id="t2", artists=[ar1, b.simple_artist("Nobody", id=None)])),
            # Episodes and local files feed no artists.
            b.playlist_item(b.episode()),
            b.playlist_item(b.local_track(artist="Me")),
        ],
        artists=[
            b.full_artist(id="ar1", name="Royal Blood", genres=("rock",), popularity=70, followers=1000),
            # Development Mode: no genres, popularity or followers; still the full object.
            b.full_artist(id="ar2", name="Guest", genres=b.OMIT, popularity=b.OMIT, followers=b.OMIT),
            # Enriched artist that no track credits (the envelope may hold it anyway).
            b.full_artist(id="ar9", name="Extra", genres=[], popularity=None, followers=None),
            b.full_artist(id=None, name="Broken"),
        ],
    )

    built_df = tables.artists(b.observations_df(spark, [env]))
    actual_df = merged("artists", built_df)

    default_album_artist = b.simple_artist()  # the album of t2 is the builder's default
    rows = [
        ("ar1", "Royal Blood", "spotify:artist:ar1", ["rock"], 70, 1000),
        ("ar2", "Guest", "spotify:artist:ar2", [], None, None),
        ("ar3", "Album Only", "spotify:artist:ar3", None, None, None),
        ("ar9", "Extra", "spotify:artist:ar9", [], None, None),
        (default_album_artist["id"], "Royal Blood", default_album_artist["uri"], None, None, None),
    ]
    # every occurrence: the full objects, t1's two credits and its album's artist, t2's credit and album artist
    assert sorted(row.artist_id for row in built_df.collect()) == sorted(
        ["ar1", "ar2", "ar9", "ar1", "ar2", "ar3", "ar1", default_album_artist["id"]]
    )
    assert_df_equality(by_row(actual_df), by_row(expected_df(spark, "artists", rows, env)))


def test_artists_with_null_artists_array(spark):
    env = b.envelope(
        items=[b.playlist_item(b.track(id="t1", artists=None, album=b.album(id="al1", artists=None)))]
    )
    env["artists"] = None

    actual_df = tables.artists(b.observations_df(spark, [env]))

    assert_df_equality(actual_df, expected_df(spark, "artists", [], env))


def test_track_artists_in_credit_order(spark):
    a, c = b.simple_artist("A", id="a"), b.simple_artist("C", id="c")
    env = b.envelope(
        items=[
            b.playlist_item(b.track(id="t1", artists=[c, a])),
            b.playlist_item(b.track(id="t1", artists=[c, a])),  # listed twice
            # A null-id credit does not count; an artist credited twice keeps its first position.
            b.playlist_item(b.track(id="t2", artists=[b.simple_artist("X", id=None), a, c, a])),
            b.playlist_item(b.track(id="t3", artists=None)),
            b.playlist_item(b.episode()),
        ]
    )

    built_df = tables.track_artists(b.observations_df(spark, [env]))
    actual_df = merged("track_artists", built_df)

    assert sorted((row.track_id, row.artist_id, row.artist_position) for row in built_df.collect()) == [
        ("t1", "a", 1),
        ("t1", "a", 1),
        ("t1", "c", 0),
        ("t1", "c", 0),
        ("t2", "a", 0),
        ("t2", "a", 2),
        ("t2", "c", 1),
    ]  # every occurrence: t1 listed twice, a credited twice on t2

    rows = [("t1", "c", 0), ("t1", "a", 1), ("t2", "a", 0), ("t2", "c", 1)]
    assert_df_equality(by_row(actual_df), by_row(expected_df(spark, "track_artists", rows, env)))


# ---------------------------------------------------------------------------------------------------
# build_tables, schemas, conform
# ---------------------------------------------------------------------------------------------------


def test_build_tables_gives_every_table_in_its_exact_schema(spark):
    envs = [
        b.envelope(
            items=[b.playlist_item(), b.playlist_item(None), b.playlist_item(b.episode())],
            artists=[b.full_artist()],
        ),
        b.envelope(playlist=b.playlist(id="pl2"), items=[]),
    ]
    built = registry.build_tables(b.observations_df(spark, envs))

    assert list(built) == list(CURATED_TABLES)
    for table, df in built.items():
        assert df.schema == TABLE_SCHEMAS[table], table


def test_conform_orders_casts_drops_extras_and_sets_nullability(spark):
    loose_df = spark.createDataFrame(
        [
            ("2026-11-22", "file:///r/a", T0, 2, "a1", "t1", "extra"),
            ("2026-11-22", "file:///r/a", T0, 0, None, "t1", "extra"),  # no key: dropped
            (None, "file:///r/a", T0, 0, "a1", "t1", "extra"),
        ],
        "snapshot_date string, source_file string, extracted_at timestamp, artist_position bigint, "
        "artist_id string, track_id string, junk string",
    )

    actual_df = conform(loose_df, TABLE_SCHEMAS["track_artists"])

    expected = spark.createDataFrame(
        [("t1", "a1", 2, T0, "file:///r/a", "2026-11-22")], TABLE_SCHEMAS["track_artists"]
    )
    assert_df_equality(actual_df, expected)


def test_conform_makes_a_non_null_column_nullable_where_declared(spark):
    declared = TABLE_SCHEMAS["tracks"]
    # Every column non-nullable, as Spark derives it for e.g. ``filter(transform(...))`` arrays.
    strict = StructType([StructField(f.name, f.dataType, False) for f in declared.fields])
    row = ("t1", "n", "al", ["a"], 1, True, "i", 1, 1, 1, "u", "p", T0, "f", "2026-11-22")
    strict_df = spark.createDataFrame([row], strict)

    actual_df = conform(strict_df, declared)

    assert_df_equality(actual_df, spark.createDataFrame([row], declared))


def test_conform_keeps_a_declared_non_null_column_non_null_when_its_cast_could_fail(spark):
    """A column already non-nullable keeps its declared nullability through a cast that can yield NULL (a
    string to an int): conform still carries it with its coalesce, as for a nullable column."""
    declared = TABLE_SCHEMAS["track_artists"]
    as_text = StructType(
        [
            StructField(f.name, StringType() if f.name == "artist_position" else f.dataType, False)
            for f in declared.fields
        ]
    )
    strict_df = spark.createDataFrame([("t1", "a1", "2", T0, "file:///r/a", "2026-11-22")], as_text)

    actual_df = conform(strict_df, declared)

    assert_df_equality(
        actual_df, spark.createDataFrame([("t1", "a1", 2, T0, "file:///r/a", "2026-11-22")], declared)
    )


def test_conform_of_rows_already_in_the_schema_adds_nothing_to_the_plan(spark):
    """The writer and the merge conform rows the builders already conformed: that adds no projection (each
    would be analyzed again in every write) and keeps the rows as they are."""
    declared = TABLE_SCHEMAS["track_artists"]
    row = ("t1", "a1", 2, T0, "file:///r/a", "2026-11-22")
    exact_df = spark.createDataFrame([row], declared)
    nullable = StructType([StructField(f.name, f.dataType, True) for f in declared.fields])
    nullable_df = spark.createDataFrame([row], nullable)  # as rows read back from Parquet are

    assert conform(exact_df, declared) is exact_df
    conformed_df = conform(nullable_df, declared)
    assert conformed_df is not nullable_df
    assert_df_equality(conformed_df, exact_df)


def test_conform_names_a_missing_column(spark):
    df = spark.createDataFrame([("t1",)], "track_id string")
    with pytest.raises(
        ValueError,
        match=r"lack the columns track_name, album_id, .*snapshot_date \(they have: track_id\)",
    ):
        conform(df, TABLE_SCHEMAS["tracks"])


def test_an_unknown_table_is_named_in_the_error():
    with pytest.raises(KeyError, match="unknown curated table 'songs'"):
        registry.curated_table("songs")


# ---------------------------------------------------------------------------------------------------
# Conformance: payloads shaped like the recorded API responses (tests/fixtures/spotify/)
# ---------------------------------------------------------------------------------------------------


def load_fixture(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def recorded_envelopes() -> list[dict[str, Any]]:
    """The recorded playlist and items, once in the older ``track`` shape and once renamed to ``item``."""
    playlist = load_fixture("get_playlist.json")
    items = load_fixture("playlist_items_episodes_and_tracks.json")["items"]
    artist = load_fixture("find_artist.json")
    renamed = [{("item" if k == "track" else k): v for k, v in item.items()} for item in items]
    older = b.envelope(playlist=playlist, items=items, artists=[artist], extracted_at=T0)
    newer = b.envelope(playlist=playlist, items=renamed, artists=[], extracted_at=T0 + timedelta(days=1))
    return [older, newer]


def test_conformance_recorded_payloads_playlist_items(spark):
    older, newer = recorded_envelopes()

    actual_df = tables.playlist_items(b.observations_df(spark, [older, newer]))

    snap = "OCw3NGQ1M2Y5NjFiNGE5NmJmYjUxNmJlM2QzMzk2ZDNhYWZmY2NlNTJh"
    items = [
        (0, "episode", "6Oo1FMgWEQpQKh2mYtsnp5", None, datetime(2022, 5, 20, 12, 35, 56, tzinfo=UTC)),
        (1, "track", "5aFGo8wHEntVxFI8IF7Wuj", "track", datetime(2022, 5, 20, 14, 10, 29, tzinfo=UTC)),
        (2, "track", "0j4FFgyRleA5IbWP4BmlIC", "track", datetime(2022, 5, 20, 14, 10, 39, tzinfo=UTC)),
    ]
    rows = []
    for env in (older, newer):
        for position, kind, id_, track, added_at in items:
            uri = f"spotify:{kind}:{id_}"
            track_id = id_ if track else None
            rows.append(
                (
                    "1h9q8vXXDl2vHOmwdsuXms",
                    snap,
                    position,
                    kind,
                    id_,
                    uri,
                    track_id,
                    added_at,
                    "randomUser",
                    *provenance(env),
                )
            )
    expected = spark.createDataFrame(rows, TABLE_SCHEMAS["playlist_items"])
    assert_df_equality(by_row(actual_df), by_row(expected))


def test_conformance_recorded_payloads_tracks_albums_artists(spark):
    older, _ = recorded_envelopes()
    observations = b.observations_df(spark, [older])

    tracks_df = merged("tracks", tables.tracks(observations)).select(
        "track_id", "track_name", "album_id", "artist_ids", "isrc"
    )
    albums_df = merged("albums", tables.albums(observations)).select(
        "album_id", "album_name", "release_date", "release_date_precision", "image_url"
    )
    artists_df = merged("artists", tables.artists(observations)).select(
        "artist_id", "artist_name", "genres", "followers"
    )

    assert_df_equality(
        by_row(tracks_df),
        by_row(
            spark.createDataFrame(
                [
                    (
                        "5aFGo8wHEntVxFI8IF7Wuj",
                        "Typhoons",
                        "05aqnnpYVOvsX0SIzmIuxi",
                        ["2S5hlvw4CMtMGswFtfdK15"],
                        "GBAHT2001121",
                    ),
                    (
                        "0j4FFgyRleA5IbWP4BmlIC",
                        "Beauty",
                        "2xe0gTFgZok8BDgUlkpRQ6",
                        ["6ekYAO2D1JkI58CF4uRRqw"],
                        "QMFMF2010623",
                    ),
                ],
                "track_id string not null, track_name string, album_id string, artist_ids array<string>, isrc string",
            )
        ),
    )
    assert_df_equality(
        by_row(albums_df),
        by_row(
            spark.createDataFrame(
                [
                    (
                        "05aqnnpYVOvsX0SIzmIuxi",
                        "Typhoons",
                        date(2021, 4, 30),
                        "day",
                        "https://i.scdn.co/image/ab67616d0000b273712b9c0f9a8d380e26a95c1c",
                    ),
                    (
                        "2xe0gTFgZok8BDgUlkpRQ6",
                        "Beauty",
                        date(2021, 1, 29),
                        "day",
                        "https://i.scdn.co/image/ab67616d0000b27303f861e63060e7d1ce63ca2d",
                    ),
                ],
                "album_id string not null, album_name string, release_date date, release_date_precision string, image_url string",
            )
        ),
    )
    assert_df_equality(
        by_row(artists_df),
        by_row(
            spark.createDataFrame(
                [
                    ("0TnOYISbd1XYRBk9myaseg", "Pitbull", [], 2265279),
                    ("2S5hlvw4CMtMGswFtfdK15", "Royal Blood", None, None),
                    ("6ekYAO2D1JkI58CF4uRRqw", "Tigercub", None, None),
                ],
                "artist_id string not null, artist_name string, genres array<string>, followers bigint",
            )
        ),
    )
