"""Spark actions run at once from driver threads: every call runs, results keep their order, and the error
raised when some fail is chosen the same way every time."""

from __future__ import annotations

import gc
import logging
import threading
from collections.abc import Callable

import pytest
from pyspark.sql import SparkSession

from spotify_etl.transform.concurrent import run_all


class DataError(Exception):
    pass


class DiskFull(Exception):
    pass


def test_concurrent_calls_run_at_once_each_with_its_own_spark_job_and_keep_their_order(
    spark: SparkSession,
) -> None:
    # Every call waits at the barrier until all have reached it: this passes only if they run at once.
    barrier = threading.Barrier(4, timeout=60)

    def call(n: int) -> Callable[[], int]:
        def count_rows() -> int:
            barrier.wait()
            return spark.range(n).count()

        return count_rows

    assert run_all([call(n) for n in (3, 1, 4, 2)], concurrent=True) == [3, 1, 4, 2]


def _calls(ran: list[str]) -> list[Callable[[], str]]:
    def ok(name: str) -> Callable[[], str]:
        return lambda: ran.append(name) or name

    def data_error() -> str:
        ran.append("data")
        raise DataError("bad row")

    def disk_full() -> str:
        ran.append("disk")
        raise DiskFull("no space left on device")

    return [ok("a"), data_error, disk_full, ok("b")]


def test_sequential_calls_stop_at_the_first_error() -> None:
    ran: list[str] = []
    with pytest.raises(DataError, match="bad row"):
        run_all(_calls(ran), concurrent=False)
    assert ran == ["a", "data"]


def test_concurrent_calls_all_run_and_the_first_error_in_order_is_raised() -> None:
    ran: list[str] = []
    with pytest.raises(DataError, match="bad row"):
        run_all(_calls(ran), concurrent=True)
    assert sorted(ran) == ["a", "b", "data", "disk"]


def test_the_error_the_caller_ranks_first_is_raised_whatever_its_place() -> None:
    ran: list[str] = []
    with pytest.raises(DiskFull, match="no space"):
        run_all(_calls(ran), concurrent=True, raise_first=lambda error: isinstance(error, DiskFull))
    assert sorted(ran) == ["a", "b", "data", "disk"]


def test_concurrent_calls_run_under_the_callers_job_group(spark: SparkSession) -> None:
    context = spark.sparkContext
    context.setJobGroup("stage-group", "the caller's group")
    try:
        groups = run_all(
            [lambda: context.getLocalProperty("spark.jobGroup.id") for _ in range(3)], concurrent=True
        )
    finally:
        context.setJobGroup("", "")
    assert groups == ["stage-group"] * 3


def test_each_concurrent_call_has_its_own_local_properties(spark: SparkSession) -> None:
    """Spark sets a query's SQL settings as local properties of the submitting thread and removes them when the
    query ends (SQLExecution.withSQLConfPropagated); its tasks read the settings from those properties. Calls
    that shared one properties object lost each other's settings mid-query (a write ran with the default
    Parquet rebase mode and failed on a date before 1582). Each call sets its own value, waits until all have,
    and reads it back; a later call on the same pool thread starts from the caller's properties again."""
    context = spark.sparkContext
    barrier = threading.Barrier(6, timeout=60)

    def own_value(n: int) -> Callable[[], str | None]:
        def call() -> str | None:
            context.setLocalProperty("spotify.etl.test.owner", str(n))
            barrier.wait()
            seen = context.getLocalProperty("spotify.etl.test.owner")
            barrier.wait()  # no call removes its value before every call has read its own
            context.setLocalProperty("spotify.etl.test.owner", None)  # type: ignore[arg-type]
            return seen

        return call

    assert run_all([own_value(n) for n in range(6)], concurrent=True) == [str(n) for n in range(6)]
    context.setLocalProperty("spotify.etl.test.caller", "kept")
    try:
        seen_next = run_all(
            [
                lambda: (
                    context.getLocalProperty("spotify.etl.test.owner"),
                    context.getLocalProperty("spotify.etl.test.caller"),
                )
                for _ in range(6)
            ],
            concurrent=True,
        )
    finally:
        context.setLocalProperty("spotify.etl.test.caller", None)  # type: ignore[arg-type]
    assert seen_next == [(None, "kept")] * 6


def test_threads_outlive_their_calls_so_no_py4j_connection_is_closed(
    spark: SparkSession, caplog: pytest.LogCaptureFixture
) -> None:
    """A thread that ends closes its JVM connection, which py4j logs at INFO (a CLI logging at INFO would
    print it): the pool's threads are kept, and reused."""
    caplog.set_level(logging.INFO, logger="py4j")
    for _ in range(3):
        run_all([lambda: spark.range(2).count() for _ in range(6)], concurrent=True)
    gc.collect()
    assert [r.getMessage() for r in caplog.records if "Closing down" in r.getMessage()] == []
