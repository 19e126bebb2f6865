"""Run a few Spark actions at once from the driver, each in its own thread, and wait for all of them.

A run's six table writes are each a few Spark jobs, and between them the driver plans and schedules while the
cores idle; a large table's job also ends on a tail of one task. Submitted from separate threads, the writes
overlap (Spark's scheduler runs the jobs of several threads side by side: "Scheduling Within an
Application", https://spark.apache.org/docs/3.5.4/job-scheduling.html#scheduling-within-an-application).

The threads are one pool per process, kept for its life. In PySpark's pinned-thread mode each Python thread
has its own connection to its own JVM thread; a thread that ends closes it (and py4j logs that at INFO, which
a CLI that logs at INFO would print). Pool threads reuse theirs. Each call first takes its own copy of the
caller's local properties (job group, description), as ``pyspark.InheritableThread`` does for a new thread.
Its own: Spark puts a query's SQL settings into the submitting thread's local properties and removes them when
the query ends (``SQLExecution.withSQLConfPropagated``), and the query's tasks read them there; threads that
shared one copy removed each other's settings mid-query.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import Any, TypeVar

from pyspark import SparkContext

from spotify_etl.transform.registry import CURATED_TABLES

T = TypeVar("T")
_THREADS = len(CURATED_TABLES)  # one per curated table: the widest fan-out (isolate.stage_curated)
_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _shared_pool() -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=_THREADS, thread_name_prefix="spotify-etl-concurrent")
        return _pool


def run_all(
    calls: Sequence[Callable[[], T]],
    concurrent: bool,
    raise_first: Callable[[BaseException], bool] = lambda _: False,
) -> list[T]:
    """Each call's result, in order.

    With ``concurrent``, the calls run at once (at most ``_THREADS``; never call this from one of the calls)
    and all are waited for; when some failed, the first error (in the calls' order) for which
    ``raise_first`` holds is raised, else the first error. The other calls ran to their end: a caller that
    discards what they wrote loses nothing. Without ``concurrent``, one after the other, stopping at the
    first error.
    """
    if not concurrent or len(calls) < 2:
        return [call() for call in calls]
    context = SparkContext._active_spark_context
    caller_properties = context._jsc.sc().getLocalProperties().clone() if context is not None else None

    def with_caller_properties(call: Callable[[], T]) -> Callable[[], T]:
        def run() -> T:
            if context is not None and caller_properties is not None:
                context._jsc.sc().setLocalProperties(caller_properties.clone())  # this call's own copy
            return call()

        return run

    futures: list[Future[Any]] = [_shared_pool().submit(with_caller_properties(call)) for call in calls]
    wait(futures)
    failed = [error for error in (future.exception() for future in futures) if error is not None]
    if failed:
        raise next((error for error in failed if raise_first(error)), failed[0])
    return [future.result() for future in futures]
