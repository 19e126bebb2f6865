"""The local listing applies the raw-object rule and survives a tree that changes under it."""

from __future__ import annotations

import errno
import gzip
import os
import threading
from pathlib import Path

import pytest
from chispa import assert_df_equality
from pyspark.sql import SparkSession

from spotify_etl.lake import local_path, path_uri
from spotify_etl.runtime.local import transform as local_transform
from spotify_etl.runtime.local.transform import config_for_lake, list_raw_objects, run_local_transform
from spotify_etl.transform.faults import EnvironmentFault
from spotify_etl.transform.globs import excluded
from spotify_etl.transform.raw_objects import GLUE_EXCLUSIONS, is_hidden
from spotify_etl.transform.schema import QUARANTINE
from tests import builders as b


@pytest.mark.parametrize(
    "key",
    [
        "ingest_date=2026-11-01/playlist_id=p1/x.json.gz",
        "_x.json.gz",
        ".x.json.gz",
        "ingest_date=2026-11-01/_SUCCESS",
        "ingest_date=2026-11-01/.tmp/x.json.gz",
        "_temporary/0/x.json.gz",
        "a/b_c/.d",
        "a/b.c/d_e.json.gz",
    ],
)
def test_glue_exclusions_skip_exactly_what_the_local_listing_skips(key: str) -> None:
    assert excluded(GLUE_EXCLUSIONS, key) is is_hidden(key)


def test_only_the_playlists_prefix_is_listed(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    uri = b.land(raw, b.envelope(playlist=b.playlist(id="p1")))
    (raw / "elsewhere.json.gz").write_bytes(b"x")

    listed = [o.uri for o in list_raw_objects(f"file://{raw}")]

    assert len(listed) == 1 and listed[0].endswith(uri.rsplit("/", 1)[1])


def _rejected(spark: SparkSession, lake: Path) -> list[tuple[str, str, str]]:
    df = spark.read.schema(QUARANTINE).parquet(f"file://{lake}/quarantine/rejected")
    return sorted((r.source_file.rsplit("/", 1)[1], r.reason, r.detail) for r in df.collect())


def test_a_dangling_symlink_is_quarantined_and_a_vanished_file_skipped(
    spark: SparkSession, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lake = tmp_path / "lake"
    good = b.land(lake / "raw", b.envelope(playlist=b.playlist(id="p1")))
    folder = next((lake / "raw").rglob("*.json.gz")).parent
    vanishing = folder / "vanishing.json.gz"
    vanishing.write_bytes(b"\x1f\x8b whatever")
    (folder / "link.json.gz").symlink_to(folder / "gone.json.gz")
    listing = local_transform.list_raw_objects

    def list_then_delete(raw_path: str) -> list:
        listed = listing(raw_path)
        if vanishing.exists():
            vanishing.unlink()  # deleted after the listing, before the read
        return listed

    monkeypatch.setattr(local_transform, "list_raw_objects", list_then_delete)
    config, bookmarks = config_for_lake(lake)

    summary = run_local_transform(config, spark, bookmarks_root=bookmarks)

    assert summary.objects_valid == 1, good
    assert _rejected(spark, lake) == [
        ("link.json.gz", "unreadable", f"dangling symbolic link to {folder / 'gone.json.gz'}")
    ]
    assert summary.bookmark_committed
    assert not os.path.lexists(vanishing)


AWKWARD_NAMES = [
    "plain.json",
    "odd [1] {x,y} *? %41 $HOME é.json",
    "with space.json",
    "100%.json",
    "a+b=c;d.json",
]


@pytest.mark.parametrize(
    "names_in_plan_max", [local_transform._NAMES_IN_PLAN_MAX, 0], ids=["in-plan", "joined"]
)
def test_each_object_is_read_once_under_its_listed_name_whichever_way_names_are_mapped(
    spark: SparkSession, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, names_in_plan_max: int
) -> None:
    monkeypatch.setattr(local_transform, "_NAMES_IN_PLAN_MAX", names_in_plan_max)
    folder = tmp_path / "raw dir [x]"
    folder.mkdir()
    for i, name in enumerate(AWKWARD_NAMES):
        (folder / name).write_text(f"object {i}\nsecond line")
    uris = [path_uri(folder / name) for name in AWKWARD_NAMES]

    read = local_transform._read_literally(spark, uris)

    expected = spark.createDataFrame(
        [(uri, f"object {i}\nsecond line") for i, uri in enumerate(uris)],
        "source_file string, value string",
    )
    assert_df_equality(read, expected, ignore_row_order=True, ignore_nullable=True)
    joined = "BroadcastHashJoin" in read._jdf.queryExecution().executedPlan().toString()
    assert joined is (names_in_plan_max == 0)


def test_the_checks_before_the_read_run_while_the_jvm_starts_and_give_the_same_verdicts(
    spark: SparkSession, tmp_path: Path
) -> None:
    # Without a session given, the run starts the checks (names, links, bounds) in a thread, then the JVM
    # (here the test's session, already running); the read takes the thread's verdicts.
    lake = tmp_path / "lake"
    b.land(lake / "raw", b.envelope(playlist=b.playlist(id="p1")))
    deep = b.land(lake / "raw", b.envelope(playlist=b.playlist(id="p2", name="[" * 70)))
    deep_path = Path(local_path(deep))
    deep_path.write_bytes(gzip.compress(b'{"x": ' + b"[" * 70 + b"]" * 70 + b"}\n"))
    config, bookmarks = config_for_lake(lake)

    summary = run_local_transform(config, bookmarks_root=bookmarks)

    assert (summary.objects_valid, summary.rejected, summary.bookmark_committed) == (1, {"too_deep": 1}, True)
    assert [row[:2] for row in _rejected(spark, lake)] == [(deep_path.name, "too_deep")]


def test_a_read_error_in_the_checks_thread_stops_the_run_as_an_environment_fault(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, spark: SparkSession
) -> None:
    lake = tmp_path / "lake"
    b.land(lake / "raw", b.envelope(playlist=b.playlist(id="p1")))
    config, bookmarks = config_for_lake(lake)

    def failing_disk(*_: object) -> None:
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(local_transform, "check_object", failing_disk)

    with pytest.raises(EnvironmentFault, match=r"bookmark unmoved\): disk I/O error: .*Input/output error"):
        run_local_transform(config, bookmarks_root=bookmarks)
    assert not (lake / "quarantine").exists()
    monkeypatch.undo()  # the disk is back: the next run reads the object the failed run did not move past
    assert run_local_transform(config, spark, bookmarks_root=bookmarks).objects_valid == 1


def test_a_run_that_stops_before_its_read_stops_the_checks_at_the_next_object(
    spark: SparkSession, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lake = tmp_path / "lake"
    for i in range(3):
        b.land(lake / "raw", b.envelope(playlist=b.playlist(id=f"p{i}")))
    config, bookmarks = config_for_lake(lake)
    checked: list[str] = []
    first_checked, go_on = threading.Event(), threading.Event()

    def slow_check(path: Path, uri: str, *_: object) -> None:
        checked.append(uri)
        first_checked.set()
        go_on.wait(10)

    monkeypatch.setattr(local_transform, "check_object", slow_check)
    runtime = local_transform.LocalRuntime(config, bookmarks)
    runtime.refuse_while_starting()
    assert first_checked.wait(10)
    runtime.stop_refusing()  # as run_local_transform does when the JVM fails to start
    go_on.set()

    with pytest.raises(RuntimeError, match="checks before the read were stopped"):
        runtime.read_new_raw(spark)
    assert len(checked) == 1
