"""The transform job on the local runtime: real files, real Spark, real Parquet, the real bookmark.

Covers the runtime-side quarantine reasons, incremental runs that touch only new partitions, I4 (one file
per touched partition), I3 (a failed run leaves the bookmark) and I1 (any split of the raw objects into
runs, with re-runs and crashes, gives the same tables as one run).
"""

from __future__ import annotations

import gzip
import itertools
import json
import shutil
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from chispa import assert_df_equality
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from spotify_etl.runtime.local.transform import LocalRuntime, config_for_lake, run_local_transform
from spotify_etl.transform import batch_tuning, quality_gate
from spotify_etl.transform.job import run_transform
from spotify_etl.transform.registry import CURATED_TABLES, TABLE_SCHEMAS
from spotify_etl.transform.schema import QUARANTINE
from spotify_etl.transform.storage import HadoopFileSystem
from spotify_etl.transform.summary import RunSummary
from tests import builders as b

pytestmark = pytest.mark.slow  # a module of slower tests: scheduled first (tests/conftest.py)

DAY1 = datetime(2026, 11, 20, 3, 0, 5, tzinfo=UTC)
DAY2 = datetime(2026, 11, 21, 3, 0, 5, tzinfo=UTC)


def _observation(
    playlist_id: str, at: datetime, tracks: list[str], *, enriched: bool = False, name: str = "Chart"
):
    items = [
        b.playlist_item(b.track(id=t, name=f"Song {t}", popularity=50 + i)) for i, t in enumerate(tracks)
    ]
    artists = (
        [b.full_artist(id="a-shared", name="Shared Artist", genres=["rock"], popularity=70)]
        if enriched
        else []
    )
    snapshot = f"{playlist_id}-{at:%Y%m%d%H%M%S}"
    return b.envelope(
        playlist=b.playlist(id=playlist_id, name=name, snapshot_id=snapshot),
        items=items,
        artists=artists,
        extracted_at=at,
    )


def _run(lake: Path, spark: SparkSession, option: str = "job-bookmark-enable") -> RunSummary:
    config, bookmarks = config_for_lake(lake, bookmark_option=option)
    return run_local_transform(config, spark, bookmarks_root=bookmarks)


def read_table(spark: SparkSession, lake: Path, table: str) -> DataFrame:
    schema = QUARANTINE if table == "rejected" else TABLE_SCHEMAS[table]
    root = lake / ("quarantine" if table == "rejected" else "curated") / table
    return spark.read.schema(schema).parquet(root.as_uri())


def parquet_files(lake: Path, table: str) -> dict[str, list[str]]:
    root = lake / "curated" / table
    return {d.name: sorted(f.name for f in d.glob("*.parquet")) for d in sorted(root.glob("snapshot_date=*"))}


# --- quarantine reasons only the runtime can name (it sees the bytes) ---------------------------------


@pytest.fixture(scope="module")
def quarantine_lake(spark: SparkSession, tmp_path_factory: pytest.TempPathFactory) -> Path:
    lake = tmp_path_factory.mktemp("quarantine_lake")
    raw = lake / "raw" / "playlists" / "ingest_date=2026-11-20" / "playlist_id=p1"
    b.land(lake / "raw", _observation("p1", DAY1, ["t1"]))
    raw.mkdir(parents=True, exist_ok=True)
    (raw / "plain.json.gz").write_text(json.dumps(_observation("p1", DAY1, ["t9"])))  # JSON, not gzipped
    (raw / "zero.json.gz").write_bytes(b"")
    (raw / "truncated.json.gz").write_bytes(gzip.compress(b'{"schema_version": 1}\n' * 50)[:20])
    (raw / "notes.txt").write_text("someone's notes")
    summary = _run(lake, spark)
    assert summary.objects_read == 5
    return lake


@pytest.mark.parametrize(
    ("name", "reason", "detail"),
    [
        (
            "plain.json.gz",
            "not_gzip",
            "first bytes 7b22 are not the gzip magic 1f8b; raw objects are gzip (docs/design.md s.2)",
        ),
        ("zero.json.gz", "empty", "the object has 0 bytes"),
        ("truncated.json.gz", "not_gzip", "gzip stream is truncated or corrupt, or holds no line"),
        (
            "notes.txt",
            "not_gzip",
            "object name does not end in .json.gz: raw objects are gzip JSON Lines (docs/design.md s.2)",
        ),
    ],
)
def test_runtime_quarantine_reasons(
    spark: SparkSession, quarantine_lake: Path, name: str, reason: str, detail: str
):
    rejected = read_table(spark, quarantine_lake, "rejected").where(f"source_file LIKE '%/{name}'")
    assert [(r.reason, r.detail) for r in rejected.collect()] == [(reason, detail)]


def test_bad_objects_do_not_block_good_ones(spark: SparkSession, quarantine_lake: Path) -> None:
    items = read_table(spark, quarantine_lake, "playlist_items").select(
        "playlist_id", "track_id", "snapshot_date"
    )
    expected = spark.createDataFrame(
        [("p1", "t1", "2026-11-20")], "playlist_id string, track_id string, snapshot_date string"
    )
    assert_df_equality(items, expected, ignore_nullable=True)


# --- incremental runs ----------------------------------------------------------------------------------


def test_incremental_run_touches_only_new_partitions_one_file_each(
    spark: SparkSession, tmp_path: Path
) -> None:
    b.land(tmp_path / "raw", _observation("p1", DAY1, ["t1", "t2"]))
    b.land(tmp_path / "raw", _observation("p2", DAY1, ["t2", "t3"]))
    first = _run(tmp_path, spark)
    day1_files = parquet_files(tmp_path, "tracks")["snapshot_date=2026-11-20"]

    b.land(tmp_path / "raw", _observation("p1", DAY2, ["t2", "t4"]))
    second = _run(tmp_path, spark)

    assert (first.objects_read, second.objects_read) == (2, 1)
    assert second.partitions_touched == {table: ["2026-11-21"] for table in CURATED_TABLES}
    day2_rows = {
        table: read_table(spark, tmp_path, table).where("snapshot_date = '2026-11-21'").count()
        for table in CURATED_TABLES
    }
    assert second.rows_written == day2_rows  # the summary reports what the rewritten partitions hold
    assert parquet_files(tmp_path, "tracks")["snapshot_date=2026-11-20"] == day1_files  # untouched
    for table in CURATED_TABLES:
        assert all(len(files) == 1 for files in parquet_files(tmp_path, table).values()), table  # I4
    tracks = read_table(spark, tmp_path, "tracks").select("track_id", "snapshot_date")
    expected = spark.createDataFrame(
        [
            ("t1", "2026-11-20"),
            ("t2", "2026-11-20"),
            ("t3", "2026-11-20"),
            ("t2", "2026-11-21"),
            ("t4", "2026-11-21"),
        ],
        "track_id string, snapshot_date string",
    )
    assert_df_equality(tracks, expected, ignore_nullable=True, ignore_row_order=True)


def test_later_observation_of_a_day_replaces_its_items(spark: SparkSession, tmp_path: Path) -> None:
    b.land(tmp_path / "raw", _observation("p1", DAY1, ["t1", "t2", "t3"]))
    _run(tmp_path, spark)
    later = DAY1.replace(hour=15)
    b.land(tmp_path / "raw", _observation("p1", later, ["t3", "t1"], name="Chart (renamed)"))
    summary = _run(tmp_path, spark)

    assert summary.partitions_touched["playlist_items"] == ["2026-11-20"]
    items = read_table(spark, tmp_path, "playlist_items").select("position", "track_id", "extracted_at")
    expected = spark.createDataFrame(
        [(0, "t3", later.replace(tzinfo=None)), (1, "t1", later.replace(tzinfo=None))],
        "position int, track_id string, extracted_at timestamp",
    )
    assert_df_equality(items, expected, ignore_nullable=True, ignore_row_order=True)
    names = [r.playlist_name for r in read_table(spark, tmp_path, "playlist_snapshots").collect()]
    assert names == ["Chart (renamed)"]


def test_nothing_new_writes_nothing(spark: SparkSession, tmp_path: Path) -> None:
    b.land(tmp_path / "raw", _observation("p1", DAY1, ["t1"]))
    _run(tmp_path, spark)
    before = parquet_files(tmp_path, "playlist_items")
    summary = _run(tmp_path, spark)
    assert (summary.objects_read, summary.rows_written, summary.bookmark_committed) == (0, {}, True)
    assert parquet_files(tmp_path, "playlist_items") == before


def test_nothing_new_starts_no_spark(
    spark: SparkSession, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    b.land(tmp_path / "raw", _observation("p1", DAY1, ["t1"]))
    _run(tmp_path, spark)

    def no_spark(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("a run with nothing new started a SparkSession")

    monkeypatch.setattr("spotify_etl.sparkutil.local_spark_session", no_spark)
    config, bookmarks = config_for_lake(tmp_path)
    summary = run_local_transform(config, None, bookmarks_root=bookmarks)
    assert (summary.objects_read, summary.rows_written, summary.bookmark_committed) == (0, {}, True)


def test_pause_and_disable_do_not_move_the_bookmark(spark: SparkSession, tmp_path: Path) -> None:
    b.land(tmp_path / "raw", _observation("p1", DAY1, ["t1"]))
    paused = _run(tmp_path, spark, "job-bookmark-pause")
    again = _run(tmp_path, spark, "job-bookmark-enable")
    disabled = _run(tmp_path, spark, "job-bookmark-disable")
    after = _run(tmp_path, spark, "job-bookmark-enable")
    assert [(s.objects_read, s.bookmark_committed) for s in (paused, again, disabled, after)] == [
        (1, False),
        (1, True),
        (1, False),
        (0, True),
    ]


# --- I3 and I1: failures, crashes, and any split of the input ------------------------------------------


class CrashBeforeCommit(LocalRuntime):
    """The process dies after every write and before the bookmark commit."""

    def commit(self) -> bool:
        raise RuntimeError("simulated crash between write and commit")


class CrashMidSwap(HadoopFileSystem):
    """The process dies after the first new file is moved into curated/, in the middle of the swap."""

    moved = 0

    def rename(self, source: str, target: str) -> None:
        if CrashMidSwap.moved >= 2:  # the write record moves in first, then the first new file
            raise RuntimeError("simulated crash in the middle of a partition swap")
        CrashMidSwap.moved += 1
        super().rename(source, target)


def _run_crashing(lake: Path, spark: SparkSession, kind: str, monkeypatch: pytest.MonkeyPatch) -> None:
    config, bookmarks = config_for_lake(lake)
    if kind == "before_commit":
        with pytest.raises(RuntimeError, match="simulated crash"):
            run_transform(spark, CrashBeforeCommit(config, bookmarks), config)
    else:
        CrashMidSwap.moved = 0
        with monkeypatch.context() as patch:
            patch.setattr("spotify_etl.transform.job.HadoopFileSystem", CrashMidSwap)
            with pytest.raises(RuntimeError, match="simulated crash"):
                run_transform(spark, LocalRuntime(config, bookmarks), config)


def test_a_failed_run_leaves_the_bookmark(
    spark: SparkSession, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    b.land(tmp_path / "raw", _observation("p1", DAY1, ["t1"]))
    _run_crashing(tmp_path, spark, "before_commit", monkeypatch)
    assert not (tmp_path / "_bookmarks").exists()
    assert _run(tmp_path, spark).objects_read == 1


def _corpus() -> list[dict]:
    """Observations that exercise the merge: two playlists, two days, repeats within a day, enrichment."""
    return [
        _observation("p1", DAY1, ["t1", "t2", "t3"], enriched=True),
        _observation("p1", DAY1.replace(hour=9), ["t2", "t1"]),
        _observation("p2", DAY1, ["t3", "t4"]),
        _observation("p1", DAY2, ["t1", "t5"]),
        _observation("p2", DAY2.replace(hour=12), ["t4", "t4", "t6"], enriched=True),
    ]


def _tables(spark: SparkSession, lake: Path) -> dict[str, list]:
    """Every row of every table, with source_file made relative to the lake so that lakes compare."""
    relative = F.regexp_replace("source_file", "^.*?/raw/", "raw/")
    return {
        table: sorted(read_table(spark, lake, table).withColumn("source_file", relative).collect())
        for table in (*CURATED_TABLES, "rejected")
    }


def _land_all(raw: Path, envelopes: list[dict], bad: bool) -> None:
    for env in envelopes:
        b.land(raw, env)
    if bad:
        path = raw / "playlists" / "ingest_date=2026-11-20" / "broken.json.gz"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(gzip.compress(b"[1, 2]\n", mtime=0))


@pytest.fixture(scope="module")
def reference_tables(spark: SparkSession, tmp_path_factory: pytest.TempPathFactory) -> dict[str, list]:
    lake = tmp_path_factory.mktemp("reference")
    _land_all(lake / "raw", _corpus(), bad=True)
    _run(lake, spark)
    return _tables(spark, lake)


def test_a_large_batch_lands_the_small_batchs_rows_and_quarantines_the_same_objects(
    spark: SparkSession, reference_tables: dict[str, list], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The small-batch settings (``batch_tuning``: no whole-stage code generation, no adaptive execution,
    interpreted projections) choose how the plans run, not what they compute."""
    _land_all(tmp_path / "raw", _corpus(), bad=True)
    raw_bytes = sum(f.stat().st_size for f in (tmp_path / "raw").rglob("*") if f.is_file())
    assert batch_tuning.is_small_batch(raw_bytes)  # the reference ran as a small batch
    monkeypatch.setattr(batch_tuning, "SMALL_BATCH_BYTES", -1)
    monkeypatch.setattr(batch_tuning, "ONE_PARTITION_GATE_BYTES", -1)
    assert not batch_tuning.is_small_batch(raw_bytes)  # this run is a large one
    gate_partitions = []

    def recorded(*args: Any, **kwargs: Any) -> quality_gate.RunGate:
        gate = quality_gate.RunGate(*args, **kwargs)
        gate_partitions.append(gate.one_partition)
        return gate

    monkeypatch.setattr("spotify_etl.transform.job.RunGate", recorded)

    _run(tmp_path, spark)
    got = _tables(spark, tmp_path)

    assert gate_partitions == [False]  # the gate ran on Spark's own plans

    for table in CURATED_TABLES:
        assert got[table] == reference_tables[table], table
    assert [(r.source_file, r.reason, r.detail) for r in got["rejected"]] == [
        (r.source_file, r.reason, r.detail) for r in reference_tables["rejected"]
    ]


@pytest.fixture()
def scratch() -> Iterator[Path]:
    # not tmp_path: hypothesis runs many examples inside one test function
    root = Path(tempfile.mkdtemp(prefix="i1-"))
    yield root
    shutil.rmtree(root, ignore_errors=True)


STEPS = st.sampled_from(["run", "rerun_disabled", "crash_before_commit", "crash_mid_swap"])


@settings(max_examples=3, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@example(order=[4, 3, 2, 1, 0], cuts=[2], steps=["crash_mid_swap", "crash_before_commit"])
@example(order=[0, 1, 2, 3, 4], cuts=[1, 3], steps=["rerun_disabled", "run", "crash_mid_swap"])
@given(
    order=st.permutations(range(5)),
    cuts=st.lists(st.integers(min_value=1, max_value=4), max_size=3, unique=True),
    steps=st.lists(STEPS, min_size=1, max_size=4),
)
def test_i1_any_split_rerun_or_crash_gives_the_same_tables(
    spark: SparkSession,
    reference_tables: dict[str, list],
    scratch: Path,
    monkeypatch: pytest.MonkeyPatch,
    order: list[int],
    cuts: list[int],
    steps: list[str],
) -> None:
    lake = Path(tempfile.mkdtemp(dir=scratch))
    corpus = _corpus()
    bounds = [0, *sorted(cuts), 5]
    groups = [[corpus[i] for i in order[lo:hi]] for lo, hi in itertools.pairwise(bounds) if hi > lo]
    for index, group in enumerate(groups):
        _land_all(lake / "raw", group, bad=index == 0)
        step = steps[index % len(steps)]
        if step.startswith("crash"):
            _run_crashing(lake, spark, step.removeprefix("crash_"), monkeypatch)
        _run(lake, spark)
        if step == "rerun_disabled":
            _run(lake, spark, "job-bookmark-disable")
    got = _tables(spark, lake)
    assert got.keys() == reference_tables.keys()
    for table in CURATED_TABLES:
        assert got[table] == reference_tables[table], table
    # quarantine: the same objects with the same reasons (rejected_at is the run's own time)
    assert [(r.source_file, r.reason) for r in got["rejected"]] == [
        (r.source_file, r.reason) for r in reference_tables["rejected"]
    ]


def test_cli_prints_summary_and_exits_zero_with_quarantined_objects(tmp_path: Path, capsys) -> None:
    from spotify_etl.cli import main

    b.land(tmp_path / "raw", _observation("p1", DAY1, ["t1"]))
    bad = tmp_path / "raw" / "playlists" / "x.json.gz"
    bad.write_bytes(gzip.compress(b"not json\n"))
    assert main(["transform", "--lake", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "objects read: 2 (valid 1; rejected: not_json=1)" in out
    assert "playlist_items" in out and "bookmark: job-bookmark-enable, advanced" in out
    assert main(["transform", "--lake", str(tmp_path / "nowhere")]) == 2
    assert "does not exist" in capsys.readouterr().err
