"""The data quality gate inside the transform: real files, real Spark, the rules of ``quality/``.

A raw object whose rows break a row-level ERROR rule is quarantined as ``quality`` naming the rule while
the rest of the batch lands; a table-level failure (a merge defect giving a duplicate key) stops the run
before the swap with the tables and the bookmark unchanged, or lands with the landing option, and the
results table says which.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from chispa import assert_df_equality
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from spotify_etl.commands.exits import EXIT_QUALITY
from spotify_etl.quality.evaluate import load_rulesets
from spotify_etl.quality.results import RESULTS_SCHEMA, RESULTS_TABLE
from spotify_etl.runtime.local.transform import config_for_lake, run_local_transform
from spotify_etl.transform import batch_tuning, merge, quality_gate
from spotify_etl.transform.quality_gate import BROADCAST_THRESHOLD, LANDED_ANYWAY, QualityGateFailed
from spotify_etl.transform.registry import CURATED_TABLES, TABLE_SCHEMAS
from spotify_etl.transform.schema import QUARANTINE
from spotify_etl.transform.summary import RunSummary
from tests import builders as b

pytestmark = [pytest.mark.usefixtures("quality_gate_on"), pytest.mark.slow]

DAY1 = datetime(2026, 11, 20, 3, 0, 5, tzinfo=UTC)
DAY2 = datetime(2026, 11, 21, 3, 0, 5, tzinfo=UTC)


def _observation(seed: str, at: datetime, tracks: list[dict]) -> dict:
    playlist_id = b.spotify_id(f"playlist:{seed}")
    items = [b.playlist_item(track) for track in tracks]
    return b.envelope(
        playlist=b.playlist(id=playlist_id, name=f"Chart {seed}", snapshot_id=f"{seed}-{at:%Y%m%d}"),
        items=items,
        extracted_at=at,
    )


def _track(seed: str) -> dict:
    return b.track(id=b.spotify_id(f"track:{seed}"), name=f"Song {seed}")


def _run(lake: Path, spark: SparkSession, *, land_anyway: bool = False) -> RunSummary:
    config, bookmarks = config_for_lake(lake)
    if land_anyway:
        from dataclasses import replace

        config = replace(config, land_despite_quality_errors=True)
    return run_local_transform(config, spark, bookmarks_root=bookmarks)


def _table(spark: SparkSession, lake: Path, table: str) -> DataFrame:
    """A curated table with ``source_file`` relative to its lake, so two lakes compare."""
    root = lake / "curated" / table
    if not root.exists():
        return spark.createDataFrame([], TABLE_SCHEMAS[table])
    df = spark.read.schema(TABLE_SCHEMAS[table]).parquet(root.as_uri())
    return df.withColumn("source_file", F.regexp_replace("source_file", "^.*/raw/", "raw/"))


def _rule(table: str, prefix: str) -> tuple[int, str]:
    (rule,) = [r for r in load_rulesets(tables=[table])[table] if r.text.startswith(prefix)]
    return rule.line, rule.text


def test_an_object_breaking_a_row_rule_is_quarantined_and_the_rest_lands(
    spark: SparkSession, tmp_path: Path, either_batch_size: str
) -> None:
    good = _observation("good", DAY1, [_track("a"), _track("b")])
    bad = _observation("bad", DAY1, [_track("c"), b.track(id="not-a-spotify-id", name="Broken")])
    lake, reference = tmp_path / "lake", tmp_path / "reference"
    b.land(lake / "raw", good)
    bad_uri = b.land(lake / "raw", bad)
    b.land(reference / "raw", good)

    summary = _run(lake, spark)
    _run(reference, spark)

    assert (summary.objects_read, summary.objects_valid, summary.rejected) == (2, 1, {"quality": 1})
    assert summary.quality["error_failed"] == 0 and summary.bookmark_committed
    for table in CURATED_TABLES:  # the good object landed exactly as it lands alone
        assert_df_equality(_table(spark, lake, table), _table(spark, reference, table), ignore_row_order=True)
    line, text = _rule("playlist_items", 'ColumnValues "track_id" matches')
    expected = spark.createDataFrame(
        [
            (
                b.source_file(bad, (lake / "raw").as_uri()),
                "quality",
                f"rows of playlist_items break the ERROR rule quality/playlist_items.dqdl:{line}: {text}"
                "; and 2 more rule(s)",
            )
        ],
        "source_file string, reason string, detail string",
    )
    quarantine = spark.read.schema(QUARANTINE).parquet((lake / "quarantine" / "rejected").as_uri())
    assert_df_equality(quarantine.select("source_file", "reason", "detail"), expected)
    assert bad_uri  # landed, read, quarantined: accounted for


def _duplicate_tracks(monkeypatch: pytest.MonkeyPatch) -> None:
    """A merge defect: the tracks table keeps every row twice (a duplicate key only the table can show)."""
    original = merge.apply_merge_rule

    def defective(table: str, rows_df: DataFrame) -> DataFrame:
        merged_df = original(table, rows_df)
        return merged_df.unionByName(merged_df) if table == "tracks" else merged_df

    monkeypatch.setattr(merge, "apply_merge_rule", defective)


def _tables(spark: SparkSession, lake: Path) -> dict[str, DataFrame]:
    """Every table's rows as they are now (collected: a cached read of a path would hide later changes)."""
    frames = {table: _table(spark, lake, table) for table in CURATED_TABLES}
    return {table: spark.createDataFrame(df.collect(), df.schema) for table, df in frames.items()}


def _results(spark: SparkSession, lake: Path) -> DataFrame:
    columns = [f for f in RESULTS_SCHEMA.fields if f.name != "evaluated_date"]
    from pyspark.sql.types import StructType

    root = lake / "curated" / RESULTS_TABLE
    return spark.read.schema(StructType(columns)).parquet(root.as_uri())


def test_a_table_level_failure_stops_the_run_before_the_swap(
    spark: SparkSession, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from spotify_etl.cli import main

    lake = tmp_path / "lake"
    b.land(lake / "raw", _observation("one", DAY1, [_track("a")]))
    assert _run(lake, spark).quality["error_failed"] == 0
    before = _tables(spark, lake)
    bookmark = lake / "_bookmarks"
    bookmark_before = {p: p.read_bytes() for p in bookmark.rglob("*") if p.is_file()}
    b.land(lake / "raw", _observation("one", DAY2, [_track("a"), _track("b")]))
    _duplicate_tracks(monkeypatch)

    with pytest.raises(QualityGateFailed) as failed:
        _run(lake, spark)

    line, text = _rule("tracks", "IsPrimaryKey")
    assert str(failed.value).splitlines()[1:] == [f"  quality/tracks.dqdl:{line}: {text}: observed 0"]
    for table, df in _tables(spark, lake).items():  # no table changed
        assert_df_equality(df, before[table], ignore_row_order=True)
    assert {p: p.read_bytes() for p in bookmark.rglob("*") if p.is_file()} == bookmark_before
    assert not [p for p in (lake / "_staging").rglob("*") if p.is_file()]
    failures = _results(spark, lake).where("outcome = 'FAIL' AND severity = 'ERROR'")
    assert [(r.table_name, r.rule, r.observed, r.message) for r in failures.collect()] == [
        ("tracks", text, 0.0, "observed 0")
    ]

    assert main(["transform", "--lake", str(lake)]) == EXIT_QUALITY  # the CLI: its code and one line
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [  # one line, then one line per failed rule
        "spotify-etl transform: data quality gate: 1 ERROR rule(s) failed on the staged partitions; nothing "
        "was swapped in and the bookmark did not move (docs/transform.md, 'The gate')",
        f"  quality/tracks.dqdl:{line}: {text}: observed 0",
    ]

    summary = _run(lake, spark, land_anyway=True)

    assert summary.bookmark_committed and summary.quality_landed_anyway
    assert summary.quality["error_failed"] == 1
    tracks = _table(spark, lake, "tracks").where("snapshot_date = '2026-11-21'")
    assert tracks.count() == 4  # two tracks, each twice: the defect landed, as asked
    latest = _results(spark, lake).where(F.col("run_id") == F.lit(_latest_run(spark, lake)))
    landed = latest.where("outcome = 'FAIL' AND severity = 'ERROR'")
    assert [(r.rule, r.message) for r in landed.collect()] == [(text, f"observed 0; {LANDED_ANYWAY}")]


def _latest_run(spark: SparkSession, lake: Path) -> str:
    return _results(spark, lake).agg(F.max("run_id")).first()[0]


def test_a_day_of_empty_playlists_lands_rowcount_counts_the_whole_table(
    spark: SparkSession, tmp_path: Path
) -> None:
    """``RowCount > 0`` is a whole-table rule: a touched day without items is not an empty table."""
    lake = tmp_path / "lake"
    b.land(lake / "raw", _observation("one", DAY1, [_track("a"), _track("b")]))
    _run(lake, spark)
    b.land(lake / "raw", _observation("one", DAY2, []))

    summary = _run(lake, spark)

    assert summary.bookmark_committed and summary.quality["error_failed"] == 0
    latest = _results(spark, lake).where(F.col("run_id") == F.lit(_latest_run(spark, lake)))
    counted = latest.where("rule = 'RowCount > 0' AND table_name IN ('playlist_items', 'track_artists')")
    expected = spark.createDataFrame(
        [("playlist_items", "PASS", 2.0), ("track_artists", "PASS", 2.0)],  # day 1's rows, from the footers
        "table_name string, outcome string, observed double",
    )
    assert_df_equality(
        counted.select("table_name", "outcome", "observed"),
        expected,
        ignore_row_order=True,
        ignore_nullable=True,
    )


def test_a_day_whose_only_objects_break_a_rule_is_not_staged_and_the_other_days_land(
    spark: SparkSession, tmp_path: Path
) -> None:
    """The batch is staged again without the quarantined objects: a day left with none is not touched."""
    good = _observation("good", DAY1, [_track("a")])
    bad = _observation("bad", DAY2, [b.track(id="not-a-spotify-id", name="Broken")])
    lake, reference = tmp_path / "lake", tmp_path / "reference"
    b.land(lake / "raw", good)
    b.land(lake / "raw", bad)
    b.land(reference / "raw", good)

    summary = _run(lake, spark)
    _run(reference, spark)

    assert (summary.objects_valid, summary.rejected, summary.quality["error_failed"]) == (
        1,
        {"quality": 1},
        0,
    )
    for table in CURATED_TABLES:
        assert_df_equality(_table(spark, lake, table), _table(spark, reference, table), ignore_row_order=True)
        assert not list((lake / "curated" / table).glob("snapshot_date=2026-11-21"))
    _, text = _rule("playlist_items", 'ColumnValues "track_id" matches')
    latest = _results(spark, lake).where(F.col("run_id") == F.lit(_latest_run(spark, lake)))
    recorded = latest.where(F.col("rule") == F.lit(text)).select("outcome", "message")
    expected = spark.createDataFrame(
        [("PASS", "quarantined 1 raw object(s) as quality")], "outcome string, message string"
    )
    assert_df_equality(recorded, expected, ignore_nullable=True)


def test_rows_already_in_the_lake_that_break_a_row_rule_stop_the_run_and_quarantine_nothing(
    spark: SparkSession, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The broken rows name no object of the batch: a table-level failure, not the new object's fault."""
    lake = tmp_path / "lake"
    with monkeypatch.context() as gate_off:  # a lake written before the rule (or by hand)
        gate_off.setattr("spotify_etl.transform.job.load_gate_rules", dict)
        b.land(lake / "raw", _observation("old", DAY1, [b.track(id="not-a-spotify-id", name="Old")]))
        _run(lake, spark)
    before = _tables(spark, lake)
    b.land(lake / "raw", _observation("new", DAY1, [_track("a")]))

    with pytest.raises(QualityGateFailed) as failed:
        _run(lake, spark)

    line, text = _rule("playlist_items", 'ColumnValues "track_id" matches')
    assert f"  quality/playlist_items.dqdl:{line}: {text}: observed 0.5" in str(failed.value).splitlines()
    for table, df in _tables(spark, lake).items():
        assert_df_equality(df, before[table], ignore_row_order=True)
    assert not (lake / "quarantine" / "rejected").exists()


def test_which_rules_are_traced_to_objects() -> None:
    """Row-level: rules a single row breaks and that ask for every row; the rest judge the table."""
    from spotify_etl.quality.dqdl import parse_ruleset
    from spotify_etl.transform.row_rules import is_row_level

    rules = parse_ruleset(
        'DefaultLabels = ["severity"="ERROR"]\nRules = [\n'
        ' ReferentialIntegrity "track_id,snapshot_date" "tracks.{track_id,snapshot_date}" = 1.0,\n'
        ' ReferentialIntegrity "track_id,snapshot_date" "tracks.{track_id,snapshot_date}" >= 1.0,\n'
        ' ReferentialIntegrity "track_id,snapshot_date" "tracks.{track_id,snapshot_date}" > 0.95,\n'
        ' ColumnValues "artist_position" >= 0,\n'
        ' ColumnValues "artist_position" >= 0 with threshold > 0.9,\n'
        ' IsComplete "source_file",\n'
        ' IsComplete "artist_id" labels=["severity"="WARN"],\n'
        ' IsPrimaryKey "track_id" "artist_id" "snapshot_date"\n]',
        "track_artists",
    )

    assert [is_row_level(rule) for rule in rules] == [True, True, False, True, False, True, False, False]


def test_a_stopped_run_records_no_quarantine_it_did_not_make() -> None:
    from spotify_etl.quality.dqdl import parse_ruleset
    from spotify_etl.quality.evaluate import RuleResult
    from spotify_etl.transform.quality_gate import RowVerdict, annotate

    row_rule, key_rule = parse_ruleset(
        'DefaultLabels = ["severity"="ERROR"]\nRules = [\n ColumnValues "duration_ms" >= 0,\n'
        ' IsPrimaryKey "track_id" "snapshot_date"\n]',
        "tracks",
    )
    verdict = RowVerdict([("file:///raw/a.json.gz", "quality", "detail")], {row_rule: 1})
    passed = RuleResult(row_rule, True, 1.0, "")
    landing = [passed, RuleResult(key_rule, True, 1.0, "")]
    stopping = [passed, RuleResult(key_rule, False, 0.5, "observed 0.5")]

    assert [r.message for r in annotate(landing, verdict, land_anyway=False)] == [
        "quarantined 1 raw object(s) as quality",
        "",
    ]
    assert [r.message for r in annotate(stopping, verdict, land_anyway=False)] == ["", "observed 0.5"]
    assert [r.message for r in annotate(stopping, verdict, land_anyway=True)] == [
        "quarantined 1 raw object(s) as quality",
        f"observed 0.5; {LANDED_ANYWAY}",
    ]


def test_a_breaking_duplicate_within_an_object_quarantines_it_though_the_merge_keeps_the_other(
    spark: SparkSession, tmp_path: Path
) -> None:
    """A track listed twice in one object: the merge keeps the smaller row (by content), but the larger one is a
    row the object brings as well, and the row rules judge every row an object brings."""
    kept = {**_track("twice"), "name": "A song"}
    dropped = {**kept, "name": "Z song", "duration_ms": -5}  # larger by name: the merge would keep ``kept``
    twice = _observation("twice", DAY1, [kept, dropped])
    other = _observation("other", DAY1, [_track("other")])
    lake, reference = tmp_path / "lake", tmp_path / "reference"
    for observation in (twice, other):
        b.land(lake / "raw", observation)
    b.land(reference / "raw", other)

    summary = _run(lake, spark)
    _run(reference, spark)

    assert (summary.objects_valid, summary.rejected) == (1, {"quality": 1})
    for table in CURATED_TABLES:
        assert_df_equality(_table(spark, lake, table), _table(spark, reference, table), ignore_row_order=True)
    line, text = _rule("tracks", 'ColumnValues "duration_ms"')
    quarantine = spark.read.schema(QUARANTINE).parquet((lake / "quarantine" / "rejected").as_uri())
    assert_df_equality(
        quarantine.select(F.regexp_replace("source_file", "^.*/raw/", "raw/").alias("source_file"), "detail"),
        spark.createDataFrame(
            [
                (
                    b.source_file(twice, "raw"),
                    f"rows of tracks break the ERROR rule quality/tracks.dqdl:{line}: {text}",
                )
            ],
            "source_file string, detail string",
        ),
        ignore_nullable=True,
    )


def test_a_breaking_row_the_merge_replaces_still_quarantines_its_object_in_any_split(
    spark: SparkSession, tmp_path: Path
) -> None:
    """Row rules judge every new row before the merge: the verdict on an object never depends on its run."""
    hour_later = DAY1.replace(hour=4)
    broken = _observation("older", DAY1, [{**_track("shared"), "duration_ms": -5}])
    fine = _observation("newer", hour_later, [_track("shared")])  # the merge keeps this track row
    together, split, reference = tmp_path / "together", tmp_path / "split", tmp_path / "reference"
    for lake in (together, split):
        b.land(lake / "raw", broken)
    b.land(together / "raw", fine)
    b.land(reference / "raw", fine)

    summary = _run(together, spark)
    _run(split, spark)
    b.land(split / "raw", fine)
    _run(split, spark)
    _run(reference, spark)

    assert (summary.objects_valid, summary.rejected) == (1, {"quality": 1})
    for table in CURATED_TABLES:
        expected = _table(spark, reference, table)
        assert_df_equality(_table(spark, together, table), expected, ignore_row_order=True)
        assert_df_equality(_table(spark, split, table), expected, ignore_row_order=True)
    line, text = _rule("tracks", 'ColumnValues "duration_ms"')
    for lake in (together, split):
        quarantine = spark.read.schema(QUARANTINE).parquet((lake / "quarantine" / "rejected").as_uri())
        rows = quarantine.select(
            F.regexp_replace("source_file", "^.*/raw/", "raw/").alias("source_file"), "detail"
        )
        expected_rows = spark.createDataFrame(
            [
                (
                    b.source_file(broken, "raw"),
                    f"rows of tracks break the ERROR rule quality/tracks.dqdl:{line}: {text}",
                )
            ],
            "source_file string, detail string",
        )
        assert_df_equality(rows, expected_rows, ignore_nullable=True)


@pytest.mark.parametrize("size", ["small batch", "medium batch"])
def test_a_batch_judged_in_one_partition_gets_the_judgement_of_sparks_own_plans(
    spark: SparkSession, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, size: str
) -> None:
    """``RunGate.one_partition`` (a batch of at most 128 MB of gzip: a small one, or a medium one that runs with
    the large batch's Spark settings) changes how Spark cuts the gate's statement, not what it judges: every
    rule's outcome, observed value and message, and the objects a failed row-level rule is traced to, are
    those of the same statement planned by Spark as for a larger batch."""
    if size == "medium batch":
        monkeypatch.setattr(batch_tuning, "SMALL_BATCH_BYTES", -1)
    lone = b.simple_artist(name="Lone", id=b.spotify_id("artist:lone"))
    good = _observation("good", DAY1, [_track("a"), _track("b")])
    orphan = _observation("orphan", DAY1, [b.track(id=b.spotify_id("track:o"), name="O", artists=[lone])])
    b.land(tmp_path / "raw", good)
    orphan_uri = b.land(tmp_path / "raw", orphan)
    original_merge = merge.apply_merge_rule

    def without_lone(table: str, rows_df: DataFrame) -> DataFrame:  # a defect: an artist lost by the merge
        merged_df = original_merge(table, rows_df)
        return merged_df.where(F.col("artist_id") != lone["id"]) if table == "artists" else merged_df

    monkeypatch.setattr(merge, "apply_merge_rule", without_lone)
    original_judge = quality_gate.judge_staged
    asked, judgements = [], []

    def judged_both_ways(*args: object) -> tuple[list, dict]:
        *common, one_partition = args
        asked.append(one_partition)
        spread, single = original_judge(*common, False), original_judge(*common, True)
        judgements.append((spread, single))
        return single if one_partition else spread

    monkeypatch.setattr(quality_gate, "judge_staged", judged_both_ways)
    threshold_before = spark.conf.get(BROADCAST_THRESHOLD)

    summary = _run(tmp_path, spark)

    assert asked == [True, True]  # the batch with the orphan, then without it
    (first_spread, first_single), (second_spread, second_single) = judgements
    assert first_single == first_spread and second_single == second_spread
    _, ri_text = _rule("track_artists", 'ReferentialIntegrity "artist_id')
    assert [r.rule.text for r in first_spread[0] if not r.passed and r.rule.severity == "ERROR"] == [ri_text]
    assert {rule.text: sources for rule, sources in first_spread[1].items()} == {ri_text: {orphan_uri}}
    assert all(r.passed for r in second_spread[0] if r.rule.severity == "ERROR") and second_spread[1] == {}
    assert (summary.objects_valid, summary.rejected) == (1, {"quality": 1})
    assert spark.conf.get(BROADCAST_THRESHOLD) == threshold_before  # the session's own value, put back
