"""Spark 4.1 (Glue 6.0) runs with ANSI mode on by default, Spark 3.5 (Glue 5.0) with it off: same rows either way.

In ANSI mode an overflowing cast, an impossible timestamp or an array index out of range raises instead of
giving null (https://spark.apache.org/docs/latest/sql-ref-ansi-compliance.html). One hostile value in one
raw object must not fail a run on Glue 6.0 while Glue 5.0 lands it: every test here runs with ANSI mode off
and on, on whichever Spark the suite runs (make test, make test GLUE_VERSION=6.0).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime

import pytest
from chispa import assert_df_equality
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from spotify_etl.transform import tables, validate
from tests import builders as b


@pytest.fixture(params=[False, True], ids=["ansi-off (Spark 3.5 default)", "ansi-on (Spark 4 default)"])
def ansi_spark(request: pytest.FixtureRequest, spark: SparkSession) -> Iterator[SparkSession]:
    before = spark.conf.get("spark.sql.ansi.enabled")
    spark.conf.set("spark.sql.ansi.enabled", str(request.param).lower())
    yield spark
    spark.conf.set("spark.sql.ansi.enabled", before)


def test_integers_that_do_not_fit_an_int_become_null(ansi_spark: SparkSession) -> None:
    album = {**b.album(id="a1"), "total_tracks": 2**31}
    tracks_in = [
        {**b.track(id="t1", album=album), "disc_number": 2**40, "track_number": -(2**31)},
        {**b.track(id="t2", album=b.album(id="a2")), "disc_number": 1, "track_number": 2**31 - 1},
    ]
    env = b.envelope(playlist=b.playlist(id="p1"), items=[b.playlist_item(t) for t in tracks_in])
    observations_df = b.observations_df(ansi_spark, [env])

    tracks_df = tables.tracks(observations_df).select("track_id", "disc_number", "track_number")
    albums_df = tables.albums(observations_df).select("album_id", "total_tracks")

    assert_df_equality(
        tracks_df,
        ansi_spark.createDataFrame(
            [("t1", None, -(2**31)), ("t2", 1, 2**31 - 1)],
            "track_id string, disc_number int, track_number int",
        ),
        ignore_row_order=True,
        ignore_nullable=True,
    )
    assert_df_equality(
        albums_df,
        ansi_spark.createDataFrame(
            [("a1", None), ("a2", b.album(id="a2")["total_tracks"])], "album_id string, total_tracks int"
        ),
        ignore_row_order=True,
        ignore_nullable=True,
    )


def test_a_well_shaped_but_impossible_extracted_at_is_null(ansi_spark: SparkSession) -> None:
    texts_df = ansi_spark.createDataFrame(
        [
            ("ok", "2026-11-22T03:00:05Z"),
            ("fraction", "2026-11-22T03:00:05.123456Z"),
            ("month 13", "2026-13-22T03:00:05Z"),
            ("hour 25", "2026-11-22T25:00:05Z"),
            ("no zone", "2026-11-22T03:00:05"),
            ("missing", None),
        ],
        "case string, text string",
    )

    parsed_df = texts_df.select("case", validate.parse_extracted_at(F.col("text")).alias("extracted_at"))

    assert_df_equality(
        parsed_df,
        ansi_spark.createDataFrame(
            [
                ("ok", datetime(2026, 11, 22, 3, 0, 5)),
                ("fraction", datetime(2026, 11, 22, 3, 0, 5, 123456)),
                ("month 13", None),
                ("hour 25", None),
                ("no zone", None),
                ("missing", None),
            ],
            "case string, extracted_at timestamp",
        ),
        ignore_row_order=True,
        ignore_nullable=True,
    )


def test_an_object_of_blank_lines_is_rejected_as_empty_not_a_failed_run(ansi_spark: SparkSession) -> None:
    objects_df = ansi_spark.createDataFrame(
        [
            ("s3://raw/blank.json.gz", "\n   \n"),
            ("s3://raw/two.json.gz", '{"a": 1}\n\n{"a": 2}\n'),
            ("s3://raw/one.json.gz", json.dumps(b.envelope(playlist=b.playlist(id="p1"))) + "\n"),
        ],
        "source_file string, value string",
    )

    checked_df = validate.check_raw_objects(objects_df, whole_objects=True)

    assert [row.source_file for row in validate.observations_of(checked_df).collect()] == [
        "s3://raw/one.json.gz"
    ]

    assert_df_equality(
        validate.rejects_of(checked_df),
        ansi_spark.createDataFrame(
            [
                ("s3://raw/blank.json.gz", "empty", "the object holds no JSON line"),
                (
                    "s3://raw/two.json.gz",
                    "multiple_records",
                    "2 non-blank lines; a raw object holds exactly one JSON line (docs/design.md s.2)",
                ),
            ],
            "source_file string, reason string, detail string",
        ),
        ignore_nullable=True,
        ignore_row_order=True,
    )
