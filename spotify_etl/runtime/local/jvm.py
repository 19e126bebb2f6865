"""The local driver JVM's start-up options, chosen before the JVM starts, from what the run will read.

A local run starts its own JVM (Glue starts the job's before the script runs: none of this applies there,
see docs/performance.md). For a small batch (a daily run landing a handful of objects) most of the run is
starting the JVM and compiling Spark's planner and generated code, not processing data. So a small batch
runs with ``-XX:TieredStopAtLevel=1`` (compile with C1 only): C2, the optimising compiler, spends CPU on
methods that a short run calls too few times to profit from, and on 2 cores it competes with the run
itself. A large batch keeps C2: the JSON parse and the explodes are hot loops that C2 makes faster. The
choice is made from the batch's raw bytes (known from the listing, before the JVM starts): at most
``SMALL_BATCH_BYTES`` of gzip is small, the threshold at which the run also turns whole-stage code generation
off (``spotify_etl.transform.batch_tuning``).
"""

from __future__ import annotations

from spotify_etl.transform import batch_tuning

QUICK_START = ("-XX:TieredStopAtLevel=1",)


def driver_options(raw_bytes: int | None) -> tuple[str, ...]:
    """The JVM options of a local run that will read ``raw_bytes`` of gzip (None: unknown, so large)."""
    return QUICK_START if batch_tuning.is_small_batch(raw_bytes) else ()
