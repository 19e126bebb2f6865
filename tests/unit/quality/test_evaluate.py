"""The same rules give the same metrics and verdicts on Spark (the job's engine) and DuckDB (the CLI's)."""

from __future__ import annotations

import copy
from pathlib import Path

import duckdb
from pyspark.sql import SparkSession

from spotify_etl.lake import LakeLayout
from spotify_etl.quality.dqdl import parse_ruleset
from spotify_etl.quality.duckdb_lake import open_lake
from spotify_etl.quality.evaluate import DuckDbEngine, SparkEngine, evaluate, evaluate_batched, load_rulesets
from spotify_etl.transform.registry import TABLE_SCHEMAS
from tests.builders import spotify_id
from tests.quality_lake import CLOCK, clean_rows, write_lake


def test_spark_and_duckdb_agree_rule_by_rule_on_the_same_parquet(spark: SparkSession, tmp_path: Path) -> None:
    rows = clean_rows()
    rows["tracks"].append(copy.deepcopy(rows["tracks"][0]))
    rows["track_artists"].append({**rows["track_artists"][0], "track_id": spotify_id("gone")})
    rows["playlist_items"][2]["position"] = 3
    rows["artists"][0]["popularity"] = 101  # on the excluded bound of between
    rows["albums"][0]["release_date_precision"] = None  # NULL listed as allowed
    rows["playlist_items"][0]["track_id"] = None  # NULL fails matches
    lake = write_lake(tmp_path / "lake", rows)
    rulesets = load_rulesets()
    session = spark.newSession()  # its own temporary views
    session.conf.set("spark.sql.session.timeZone", "UTC")
    for table, schema in TABLE_SCHEMAS.items():
        session.read.schema(schema).parquet(str(lake / "curated" / table)).createOrReplaceTempView(table)

    on_spark = evaluate(SparkEngine(session), rulesets, CLOCK)
    on_duckdb = evaluate(DuckDbEngine(open_lake(LakeLayout.from_lake(lake), rulesets)), rulesets, CLOCK)

    assert [(r.rule.text, r.passed, r.observed) for r in on_spark] == [
        (r.rule.text, r.passed, r.observed) for r in on_duckdb
    ]
    assert sorted((r.rule.table, r.rule.text.split()[0]) for r in on_duckdb if not r.passed) == [
        ("artists", "ColumnValues"),
        ("playlist_items", "ColumnValues"),
        ("playlist_items", "CustomSql"),
        ("track_artists", "ReferentialIntegrity"),
        ("tracks", "IsPrimaryKey"),
    ]
    # the transform's gate runs the same metrics as one statement: the same results, rule by rule
    batched = evaluate_batched(SparkEngine(session), rulesets, CLOCK)
    assert [(r.rule, r.passed, r.observed, r.message) for r in batched] == [
        (r.rule, r.passed, r.observed, r.message) for r in on_spark
    ]
    # a statement a batch cannot hold (two rows) makes the gate evaluate query by query, naming that rule
    odd = {
        "tracks": parse_ruleset(
            'DefaultLabels = ["severity"="ERROR"]\nRules = [\n RowCount > 0,\n'
            ' CustomSql "SELECT track_id FROM primary" = 0\n]',
            "tracks",
        )
    }
    assert [(r.passed, r.message) for r in evaluate_batched(SparkEngine(session), odd, CLOCK)] == [
        (True, ""),
        (False, "the statement must return one row of one value"),
    ]


def test_uniqueness_counts_rows_whose_complete_key_occurs_once_among_all_rows_on_both_engines(
    spark: SparkSession,
) -> None:
    """Of five rows, ("a", 1) twice, ("b", 1), ("c", NULL), ("d", 2): two have a complete key (k, d) found in no
    other row, so IsPrimaryKey observes 2/5 (a key with a NULL is never unique, though "c" occurs once). Of k
    alone, "b", "c" and "d" occur once: 3/5. Of d alone, only 2: 1/5 (the NULL is not unique). The key rules
    are judged in the table's aggregation, beside its row-by-row rules, whose metrics still see each row once:
    RowCount 5, IsComplete "d" 4/5, and d >= 1 on the four rows whose k is not "b" 3/4 (the NULL fails). A table
    with key rules alone ("keys_only", the same rows) gets the same key metric."""
    values = [("a", 1), ("a", 1), ("b", 1), ("c", None), ("d", 2)]
    ruleset = parse_ruleset(
        'DefaultLabels = ["severity"="ERROR"]\n'
        'Rules = [\n IsPrimaryKey "k" "d",\n RowCount = 5,\n Uniqueness "k" > 0.5,\n IsUnique "d",\n'
        ' IsComplete "d",\n ColumnValues "d" >= 1 where "k <> \'b\'"\n]',
        "keyed",
    )
    keys_only = parse_ruleset(
        'DefaultLabels = ["severity"="ERROR"]\nRules = [\n Uniqueness "k" > 0.5\n]', "keys_only"
    )
    rulesets = {"keyed": ruleset, "keys_only": keys_only}
    session = spark.newSession()
    for table in rulesets:
        session.createDataFrame(values, "k string, d int").createOrReplaceTempView(table)
    with duckdb.connect() as con:
        for table in rulesets:
            con.execute(f"CREATE TABLE {table} (k VARCHAR, d INTEGER)")
            con.executemany(f"INSERT INTO {table} VALUES (?, ?)", values)
        on_duckdb = evaluate(DuckDbEngine(con), rulesets, CLOCK)
    on_spark = evaluate(SparkEngine(session), rulesets, CLOCK)

    expected = [(False, 2 / 5), (True, 5.0), (True, 3 / 5), (False, 1 / 5), (False, 4 / 5), (False, 3 / 4)]
    expected += [(True, 3 / 5)]
    assert [(r.passed, r.observed) for r in on_spark] == expected
    assert [(r.passed, r.observed) for r in on_duckdb] == expected
