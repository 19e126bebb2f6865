"""The same rules give the same metrics and verdicts on Spark (the job's engine) and DuckDB (the CLI's)."""

from __future__ import annotations

import copy
from pathlib import Path

from pyspark.sql import SparkSession

from spotify_etl.lake import LakeLayout
from spotify_etl.quality.duckdb_lake import open_lake
from spotify_etl.quality.evaluate import DuckDbEngine, SparkEngine, evaluate, load_rulesets
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
