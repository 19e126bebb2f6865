"""Environment faults stop the run; data faults quarantine (spotify_etl/transform/faults.py).

The lake lives on a real tmpfs of a few megabytes (``mount -t tmpfs``; root only, skipped otherwise), filled
so that the write runs out of space, or remounted read-only: the kernel's own ENOSPC and EROFS, through
Spark's real writer.
"""

from __future__ import annotations

import os
import re
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from spotify_etl.cli import main
from spotify_etl.runtime.local.transform import config_for_lake, run_local_transform
from spotify_etl.transform import registry
from spotify_etl.transform.faults import EXIT_ENVIRONMENT, EnvironmentFault
from tests import builders as b
from tests.unit.transform.test_writer import FIRST, LATER, _assert_same_curated, _transform

FAULT = "environment fault, run stopped (nothing quarantined, bookmark unmoved): "


@pytest.fixture()
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 4 MiB tmpfs holding the lake."""
    lake = tmp_path / "lake"
    lake.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(lake)], capture_output=True
    )
    if mounted.returncode != 0:
        pytest.skip(f"mount refused: {mounted.stderr.decode().strip()}")
    try:
        yield lake
    finally:
        subprocess.run(["umount", "-l", str(lake)], check=True)


def _fill(lake: Path, leave: int) -> Path:
    """Fill the lake's file system until ``leave`` bytes are free."""
    filler = lake / "_filler"
    stat = os.statvfs(lake)
    filler.write_bytes(b"\0" * max(0, stat.f_bavail * stat.f_frsize - leave))
    return filler


def _state(lake: Path) -> tuple[list[str], list[str]]:
    """What a stopped run must not have left: quarantine files, and bookmark files."""
    quarantine = sorted(str(p) for p in (lake / "quarantine").rglob("*.parquet"))
    return quarantine, sorted(str(p) for p in (lake / "_bookmarks").rglob("*.json"))


def test_a_disk_that_fills_during_the_write_stops_the_run_and_the_rerun_lands_everything(
    spark: SparkSession,
    small_disk: Path,
    tmp_path_factory: pytest.TempPathFactory,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for envelope in FIRST + LATER:
        b.land(small_disk / "raw", envelope)
    filler = _fill(small_disk, leave=16 * 1024)  # the raw objects fit; six tables of Parquet do not

    assert main(["transform", "--lake", str(small_disk)]) == EXIT_ENVIRONMENT == 4
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"spotify-etl transform: {FAULT}no space left on device")
    assert _state(small_disk) == ([], [])  # nothing quarantined, bookmark unmoved

    filler.unlink()  # more space
    config, bookmarks = config_for_lake(small_disk)
    summary = run_local_transform(config, spark, bookmarks_root=bookmarks)

    assert (summary.objects_valid, summary.rejected, summary.bookmark_committed) == (3, {}, True)
    clean = tmp_path_factory.mktemp("clean")
    for envelope in FIRST + LATER:
        b.land(clean / "raw", envelope)
    _transform(clean, spark)
    _assert_same_curated(spark, small_disk, clean)


def test_a_read_only_lake_gives_up_at_once_with_one_line(
    small_disk: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for envelope in FIRST:
        b.land(small_disk / "raw", envelope)
    subprocess.run(["mount", "-o", "remount,ro", str(small_disk)], check=True)

    for command in (["transform"], ["bookmark", "reset"], ["crawl"], ["transform", "--wait", "5"]):
        started = time.monotonic()
        assert main([*command, "--lake", str(small_disk)]) == EXIT_ENVIRONMENT, command
        assert time.monotonic() - started < 5
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and f"{FAULT}read-only file system" in err, (command, err)


def test_an_environment_failure_of_the_write_is_never_bisected_into_quarantine(
    spark: SparkSession, tmp_path: Path
) -> None:
    """A write whose failure reads "No space left on device" on one object's rows stops the run: the
    failure is not blamed on the object, however the bisection would have found it."""

    def build(observations_df):  # type: ignore[no-untyped-def]
        built = registry.build_tables(observations_df)
        built["tracks"] = built["tracks"].withColumn(
            "track_name",
            F.when(
                F.col("source_file").contains("playlist_id=p2/"),
                F.raise_error(F.lit("No space left on device")),
            ).otherwise(F.col("track_name")),
        )
        return built

    for envelope in FIRST + LATER:
        b.land(tmp_path / "raw", envelope)

    # Spark 3.5 says java.lang.RuntimeException, Spark 4 [USER_RAISED_EXCEPTION] ... SQLSTATE: P0001
    expected = (
        re.escape(f"{FAULT}no space left on device: ") + r"\S+ (\[USER_RAISED_EXCEPTION\] )?No space left"
    )
    with pytest.raises(EnvironmentFault, match=f"^{expected}"):
        _transform(tmp_path, spark, build_tables=build)
    assert _state(tmp_path) == ([], [])
    assert not list((tmp_path / "curated").rglob("*.parquet"))
