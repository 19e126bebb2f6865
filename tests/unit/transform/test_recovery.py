"""Recovering objects the bookmark hides (targeted reprocess), superseding quarantine rows, and two
overlapping runs on one lake (the writer lock makes them equal one run)."""

from __future__ import annotations

import os
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pyspark.sql import SparkSession

from spotify_etl.runtime.local import transform as local_transform
from spotify_etl.runtime.local.transform import LocalRuntime, config_for_lake, run_local_transform
from spotify_etl.transform.job import run_transform
from spotify_etl.transform.summary import RunSummary
from tests import builders as b
from tests.unit.transform.test_writer import _assert_same_curated, _observation, _table_df

pytestmark = pytest.mark.slow  # a module of slower tests: scheduled first (tests/conftest.py)

DAY1 = datetime(2026, 11, 20, 3, 0, 5, tzinfo=UTC)


def _run(lake: Path, spark: SparkSession, **kwargs) -> RunSummary:
    config, bookmarks = config_for_lake(lake)
    return run_local_transform(config, spark, bookmarks_root=bookmarks, **kwargs)


def _clean(spark: SparkSession, root: Path, envelopes: list[dict]) -> Path:
    for envelope in envelopes:
        b.land(root / "raw", envelope)
    _run(root, spark)
    return root


def _bookmark_text(lake: Path) -> str:
    return next((lake / "_bookmarks").rglob("*.json")).read_text()


def test_a_backfilled_object_below_the_band_is_skipped_then_reprocessed_by_name(
    spark: SparkSession, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    first, backfill = _observation("p1", DAY1, ["t1"]), _observation("p2", DAY1, ["t2"])
    b.land(tmp_path / "raw", first)
    _run(tmp_path, spark)
    uri = b.land(tmp_path / "raw", backfill)
    path = local_transform.local_path(uri)
    day_ago = time.time() - 86_400
    os.utime(path, (day_ago, day_ago))  # copied with its original modification time

    skipped = _run(tmp_path, spark)
    assert skipped.objects_read == 0  # what Glue does too: the object is below the band
    bookmark = _bookmark_text(tmp_path)

    repaired = _run(tmp_path, spark, reprocess=(str(path),))

    assert (repaired.objects_read, repaired.objects_valid, repaired.bookmark_committed) == (1, 1, False)
    assert _bookmark_text(tmp_path) == bookmark
    _assert_same_curated(spark, tmp_path, _clean(spark, tmp_path_factory.mktemp("clean"), [first, backfill]))


def test_reprocessing_a_quarantined_object_that_now_lands_removes_its_quarantine_row(
    spark: SparkSession, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    good, ahead = _observation("p1", DAY1, ["t1"]), _observation("p2", DAY1 + timedelta(hours=5), ["t2"])
    b.land(tmp_path / "raw", good)
    ahead_uri = b.land(tmp_path / "raw", ahead)
    config, bookmarks = config_for_lake(tmp_path)
    # a job whose clock was 5 hours slow: the object looked as if it came from the future
    first = run_transform(spark, LocalRuntime(config, bookmarks), config, now=lambda: DAY1)
    assert first.rejected == {"implausible_extracted_at": 1}
    rejected = [(r.source_file, r.reason) for r in _table_df(spark, tmp_path, "rejected").collect()]
    assert rejected == [(b.source_file(ahead, "raw"), "implausible_extracted_at")]

    second = run_transform(
        spark,
        LocalRuntime(config, bookmarks, reprocess=(ahead_uri,)),
        config,
        now=lambda: DAY1 + timedelta(hours=6),
    )

    assert (second.objects_valid, second.rejected, second.partitions_touched["quarantine"]) == (
        1,
        {},
        ["2026-11-20"],
    )
    assert _table_df(spark, tmp_path, "rejected").count() == 0  # never both in the tables and quarantined
    _assert_same_curated(spark, tmp_path, _clean(spark, tmp_path_factory.mktemp("clean"), [good, ahead]))


def test_reprocess_of_something_that_is_not_a_raw_object_is_one_line_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from spotify_etl.cli import main

    b.land(tmp_path / "raw", _observation("p1", DAY1, ["t1"]))
    missing = f"file://{tmp_path}/raw/playlists/nope.json.gz"
    assert main(["transform", "--lake", str(tmp_path), "--reprocess", missing]) == 2
    assert capsys.readouterr().err == (
        f"spotify-etl transform: not a raw object under file://{tmp_path}/raw: {missing} "
        "(pass the URI as 'spotify-etl audit' or the quarantine's source_file names it)\n"
    )


def test_two_overlapping_runs_end_with_the_lake_of_one_run(
    spark: SparkSession,
    tmp_path: Path,
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The issue's interleaving: observation x lands between run A's listing and run B's."""
    earlier, x = _observation("p1", DAY1, ["t1", "t2"]), _observation("p1", DAY1.replace(hour=9), ["t3"])
    b.land(tmp_path / "raw", earlier)
    listing = local_transform.list_raw_objects
    second: dict[str, object] = {}
    waiting = threading.Event()

    def run_b() -> None:
        second["summary"] = _run(tmp_path, spark, wait=600, on_wait=lambda _line: waiting.set())

    def list_then_interleave(raw_root: str):
        listed = listing(raw_root)
        if "thread" not in second:  # run A has listed: x lands, and run B starts
            b.land(tmp_path / "raw", x)
            thread = threading.Thread(target=run_b)
            second["thread"] = thread
            thread.start()
            assert waiting.wait(60), "run B did not reach the writer lock"
        return listed

    monkeypatch.setattr(local_transform, "list_raw_objects", list_then_interleave)
    first = _run(tmp_path, spark)
    thread = second["thread"]
    assert isinstance(thread, threading.Thread)
    thread.join(600)

    summary = second["summary"]
    assert isinstance(summary, RunSummary)
    assert (first.objects_read, summary.objects_read) == (1, 1)  # B ran after A, and read x
    monkeypatch.undo()
    _assert_same_curated(spark, tmp_path, _clean(spark, tmp_path_factory.mktemp("one_run"), [earlier, x]))
