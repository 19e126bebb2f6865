"""``broken_rows_query``: the objects whose rows break a row rule, the same rows the rule's metric counts."""

from __future__ import annotations

from pathlib import Path

from chispa import assert_df_equality
from pyspark.sql import SparkSession

from spotify_etl.quality.evaluate import SparkEngine, evaluate, load_rulesets
from spotify_etl.quality.translate import KEY_ROWS_PREFIX, broken_rows_query
from spotify_etl.transform.quality_gate import is_row_level
from spotify_etl.transform.registry import TABLE_SCHEMAS
from tests.builders import spotify_id
from tests.quality_lake import CLOCK, clean_rows, write_lake


def _from(name: str) -> str:
    return f"file:///lake/raw/playlists/{name}.json.gz"


def test_each_failed_row_rule_names_exactly_the_objects_of_the_rows_that_break_it(
    spark: SparkSession, tmp_path: Path
) -> None:
    rows = clean_rows()
    # a dangling reference, a NULL in a referencing column, a value out of range, a NULL that fails matches,
    # and a row the rule's ``where`` leaves out (not broken)
    rows["track_artists"][0].update(track_id=spotify_id("gone"), source_file=_from("dangling"))
    rows["track_artists"][1].update(artist_id=None, source_file=_from("null-artist"))
    rows["artists"][0].update(popularity=101, source_file=_from("out-of-range"))
    rows["playlist_items"][0].update(track_id=None, source_file=_from("null-track"))
    rows["artists"][1].update(popularity=None, source_file=_from("no-popularity"))
    lake = write_lake(tmp_path / "lake", rows)
    session = spark.newSession()
    session.conf.set("spark.sql.session.timeZone", "UTC")
    for table, schema in TABLE_SCHEMAS.items():
        session.read.schema(schema).parquet(str(lake / "curated" / table)).createOrReplaceTempView(table)
    engine = SparkEngine(session)
    failed = [
        r.rule for r in evaluate(engine, load_rulesets(), CLOCK) if not r.passed and is_row_level(r.rule)
    ]

    statement = " UNION ALL ".join(
        f"SELECT '{rule.table}:{rule.line}' AS rule, source_file FROM ({broken_rows_query(rule, CLOCK)}) b{i}"
        for i, rule in enumerate(failed)
    )
    by_rule = {f"{rule.table}:{rule.line}": rule.text for rule in failed}
    named = session.sql(statement).collect()
    actual = session.createDataFrame(
        [(by_rule[row.rule], row.source_file) for row in named], "rule string, source_file string"
    )

    expected = session.createDataFrame(
        [
            (
                'ColumnValues "popularity" between -1 and 101 where "popularity IS NOT NULL"',
                _from("out-of-range"),
            ),
            (
                'ColumnValues "track_id" matches "[0-9A-Za-z]{22}" where "item_type = \'track\'"',
                _from("null-track"),
            ),
            (
                'ReferentialIntegrity "track_id,snapshot_date" "tracks.{track_id,snapshot_date}" = 1.0',
                _from("dangling"),
            ),
            (
                'ReferentialIntegrity "artist_id,snapshot_date" "artists.{artist_id,snapshot_date}" = 1.0',
                _from("null-artist"),
            ),
        ],
        "rule string, source_file string",
    )
    assert_df_equality(actual, expected, ignore_row_order=True)


def test_no_curated_column_can_clash_with_the_key_rules_window_columns() -> None:
    """The key rules' window columns are added to a table's own (``SELECT *, count(*) OVER ... AS
    __dq_key_rows_<n>``): a column of that name in the table would make the aggregation ambiguous."""
    columns = {field.name for schema in TABLE_SCHEMAS.values() for field in schema.fields}
    assert sorted(c for c in columns if c.startswith(KEY_ROWS_PREFIX)) == []
