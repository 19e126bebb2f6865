"""The write path: all six tables are staged before any is swapped in (I5), and one object whose data makes
the write fail is quarantined as ``unwritable`` while the rest land.

Failures are injected with real Spark: a table builder whose column raises (``raise_error``) on the rows
of chosen objects, as a value the Parquet writer refuses would; and a file system whose rename dies in
the middle of the swap, as a killed process would.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from chispa import assert_df_equality
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from spotify_etl.runtime.local.transform import LocalRuntime, config_for_lake
from spotify_etl.transform import registry
from spotify_etl.transform.job import run_transform
from spotify_etl.transform.registry import CURATED_TABLES, TABLE_SCHEMAS
from spotify_etl.transform.schema import QUARANTINE
from spotify_etl.transform.storage import HadoopFileSystem
from spotify_etl.transform.summary import RunSummary
from tests import builders as b

pytestmark = pytest.mark.slow  # a module of slower tests: scheduled first (tests/conftest.py)

DAY1 = datetime(2026, 11, 20, 3, 0, 5, tzinfo=UTC)
DAY2 = datetime(2026, 11, 21, 3, 0, 5, tzinfo=UTC)


def _observation(playlist_id: str, at: datetime, tracks: list[str]) -> dict:
    items = [b.playlist_item(b.track(id=t, name=f"Song {t}")) for t in tracks]
    snapshot = f"{playlist_id}-{at:%Y%m%d%H%M%S}"
    return b.envelope(playlist=b.playlist(id=playlist_id, snapshot_id=snapshot), items=items, extracted_at=at)


FIRST = [_observation("p1", DAY1, ["t1", "t2"])]
LATER = [_observation("p1", DAY2, ["t2", "t3"]), _observation("p2", DAY1, ["t3", "t4"])]


def _failing_on(table: str, column: str, marker: str) -> Callable[[DataFrame], dict[str, DataFrame]]:
    """The real table builder, except that ``table``'s ``column`` raises on rows of objects whose name holds
    ``marker``. The column is a nullable value column: a filter on it could otherwise be inferred and
    evaluated below the run's selection of objects, where no writer's failure would happen."""

    def build(observations_df: DataFrame) -> dict[str, DataFrame]:
        built = registry.build_tables(observations_df)
        built[table] = built[table].withColumn(
            column,
            F.when(
                F.col("source_file").contains(marker),
                F.raise_error(F.lit(f"injected write failure in {table}")),
            ).otherwise(F.col(column)),
        )
        return built

    return build


def _transform(lake: Path, spark: SparkSession, **kwargs) -> RunSummary:
    config, bookmarks = config_for_lake(lake)
    return run_transform(spark, LocalRuntime(config, bookmarks), config, **kwargs)


def _land(lake: Path, envelopes: list[dict]) -> None:
    for envelope in envelopes:
        b.land(lake / "raw", envelope)


def _table_df(spark: SparkSession, lake: Path, table: str) -> DataFrame:
    quarantine = table == "rejected"
    root = lake / ("quarantine" if quarantine else "curated") / table
    schema = QUARANTINE if quarantine else TABLE_SCHEMAS[table]
    if not root.exists():
        return spark.createDataFrame([], schema)
    relative = F.regexp_replace("source_file", "^.*?/raw/", "raw/")
    return spark.read.schema(schema).parquet(root.as_uri()).withColumn("source_file", relative)


def _assert_same_curated(spark: SparkSession, got: Path, expected: Path) -> None:
    for table in CURATED_TABLES:
        assert_df_equality(
            _table_df(spark, got, table), _table_df(spark, expected, table), ignore_row_order=True
        )


def _files(root: Path) -> dict[str, int]:
    return {str(p.relative_to(root)): p.stat().st_mtime_ns for p in sorted(root.rglob("*.parquet"))}


@pytest.fixture(scope="module")
def clean_lake(spark: SparkSession, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """FIRST and LATER processed by one clean run."""
    lake = tmp_path_factory.mktemp("clean")
    _land(lake, FIRST + LATER)
    _transform(lake, spark)
    return lake


def test_a_failure_staging_a_later_table_changes_no_table(
    spark: SparkSession, tmp_path: Path, clean_lake: Path
) -> None:
    _land(tmp_path, FIRST)
    _transform(tmp_path, spark)
    _land(tmp_path, LATER)
    before = _files(tmp_path / "curated")
    bookmark = (tmp_path / "_bookmarks").rglob("*.json").__next__().read_text()

    # every row of albums (the 4th table built) fails: not one object's fault, so the run fails
    with pytest.raises(Exception, match="injected write failure in albums"):
        _transform(tmp_path, spark, build_tables=_failing_on("albums", "album_name", ""))

    assert _files(tmp_path / "curated") == before  # playlist_snapshots, playlist_items, tracks untouched
    assert next((tmp_path / "_bookmarks").rglob("*.json")).read_text() == bookmark
    assert not list((tmp_path / "quarantine").rglob("*.parquet"))
    _transform(tmp_path, spark)
    _assert_same_curated(spark, tmp_path, clean_lake)


class DiesAfterSixRenames(HadoopFileSystem):
    """The process is killed in the swap, after the first three tables' partitions were moved in."""

    renames = 0

    def rename(self, source: str, target: str) -> None:
        # the write record first, then LATER touches two partitions per table
        if DiesAfterSixRenames.renames >= 7:
            raise RuntimeError("killed in the middle of the swap")
        DiesAfterSixRenames.renames += 1
        super().rename(source, target)


def test_a_crash_after_three_tables_were_swapped_then_a_rerun_equals_one_clean_run(
    spark: SparkSession, tmp_path: Path, clean_lake: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _land(tmp_path, FIRST)
    _transform(tmp_path, spark)
    _land(tmp_path, LATER)
    DiesAfterSixRenames.renames = 0
    with monkeypatch.context() as patch:
        patch.setattr("spotify_etl.transform.job.HadoopFileSystem", DiesAfterSixRenames)
        with pytest.raises(RuntimeError, match="killed in the middle of the swap"):
            _transform(tmp_path, spark)
    swapped = _table_df(spark, tmp_path, "tracks").where("snapshot_date = '2026-11-21'").count()
    not_yet = _table_df(spark, tmp_path, "albums").where("snapshot_date = '2026-11-21'").count()
    assert (swapped > 0, not_yet) == (True, 0)  # the crash left the tables disagreeing ...

    summary = _transform(tmp_path, spark)  # ... and the re-run (bookmark unmoved) repairs them

    assert summary.objects_read == 2
    _assert_same_curated(spark, tmp_path, clean_lake)


def test_a_clean_batch_builds_its_tables_once_and_lands_what_a_sequential_run_lands(
    spark: SparkSession, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first staging's tables are built while the verdicts' Spark job runs (``job.OVERLAP``), and that
    build is the one staged: once per clean batch, and the same tables as a run that does everything in turn
    (verdicts, then the build, then one table after the other)."""
    from spotify_etl.transform import job

    builds: list[int] = []

    def counted(observations_df: DataFrame) -> dict[str, DataFrame]:
        builds.append(1)
        return registry.build_tables(observations_df)

    _land(tmp_path / "overlapped", FIRST + LATER)
    _transform(tmp_path / "overlapped", spark, build_tables=counted)
    assert len(builds) == 1

    _land(tmp_path / "in_turn", FIRST + LATER)
    with monkeypatch.context() as patch:
        patch.setattr(job, "OVERLAP", False)  # nothing concurrent
        _transform(tmp_path / "in_turn", spark, build_tables=counted)
    assert len(builds) == 2
    _assert_same_curated(spark, tmp_path / "overlapped", tmp_path / "in_turn")


@pytest.mark.parametrize("adaptive", ["true", "false"])
def test_merged_partitions_are_written_one_file_each_with_or_without_adaptive_execution(
    spark: SparkSession,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    adaptive: str,
    either_batch_size: str,
) -> None:
    """I4 by the plan, not by adaptive execution's coalescing: the writer's one shuffle by snapshot_date (a large
    batch), or its one partition (a small batch), puts each partition's rows, new and read back, in one task,
    and the merge keeps that partitioning. (The merge
    once re-wrote snapshot_date as an expression; the windows then shuffled again by their keys, two tasks
    wrote each partition, and only adaptive execution, coalescing the tiny shuffle, hid it.)"""
    from spotify_etl.transform import job

    def tuned_then(spark: SparkSession, *args: int | None) -> None:
        tune_for_batch(spark, *args)
        spark.conf.set("spark.sql.adaptive.enabled", adaptive)

    tune_for_batch = job.tune_for_batch
    before = spark.conf.get("spark.sql.adaptive.enabled")
    monkeypatch.setattr(job, "tune_for_batch", tuned_then)
    try:
        _land(tmp_path, FIRST)
        _transform(tmp_path, spark)
        _land(tmp_path, LATER)  # rows for both days: 2026-11-20 merges with the rows read back
        _transform(tmp_path, spark)
    finally:
        spark.conf.set("spark.sql.adaptive.enabled", before)

    files = {
        table: sorted(str(p.parent.name) for p in (tmp_path / "curated" / table).rglob("*.parquet"))
        for table in CURATED_TABLES
    }
    both_days = ["snapshot_date=2026-11-20", "snapshot_date=2026-11-21"]
    assert files == {table: both_days for table in CURATED_TABLES}


def test_one_objects_unwritable_data_is_quarantined_and_the_rest_land(
    spark: SparkSession, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory, either_batch_size: str
) -> None:
    build = _failing_on("tracks", "track_name", "playlist_id=p2/")
    _land(tmp_path, FIRST + LATER)

    summary = _transform(tmp_path, spark, build_tables=build)

    assert (summary.objects_valid, summary.rejected, summary.bookmark_committed) == (
        2,
        {"unwritable": 1},
        True,
    )
    without_p2 = tmp_path_factory.mktemp("without_p2")
    _land(without_p2, FIRST + LATER[:1])
    _transform(without_p2, spark, build_tables=build)
    _assert_same_curated(spark, tmp_path, without_p2)
    # the root cause differs by Spark version: java.lang.RuntimeException on 3.5; Spark 4 raises
    # org.apache.spark.SparkRuntimeException with "[ERROR_CLASS] message SQLSTATE: code". Compare the message.
    without_class = F.regexp_replace(
        "detail", r"object: [\w.$]+: (\[\w+\] )?", "object: java.lang.RuntimeException: "
    )
    rejected = _table_df(spark, tmp_path, "rejected").select(
        "source_file",
        "reason",
        F.regexp_replace(without_class, r" SQLSTATE: \w+$", "").alias("detail"),
    )
    expected = spark.createDataFrame(
        [
            (
                b.source_file(LATER[1], "raw"),
                "unwritable",
                "writing the curated tables failed on this object: "
                "java.lang.RuntimeException: injected write failure in tracks",
            )
        ],
        "source_file string, reason string, detail string",
    )
    assert_df_equality(rejected, expected, ignore_nullable=True)
