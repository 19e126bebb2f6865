"""The local driver JVM's start-up options, chosen before the JVM starts, from what the run will read.

A local run starts its own JVM (Glue starts the job's before the script runs: none of this applies there,
see docs/performance.md). On 2 cores the JIT compilers compete with the run itself, and in a run of a minute
or less they are a large part of it: in a full load of make bench's M tier (49 MB of gzip, about 50 s), C2,
the optimising compiler, took 34-42 CPU-s, as much as all the Spark tasks together, compiling Spark's
generated classes, Janino (which compiles them), task deserialization and the like. So, by the batch's raw
bytes (known from the listing, before the JVM starts):

- a small batch (at most ``SMALL_BATCH_BYTES`` of gzip, a daily run landing a handful of objects) runs with
  ``-XX:TieredStopAtLevel=1`` (compile with C1 only): such a run calls nothing often enough for C2 to pay,
  and the same threshold turns whole-stage code generation off (``spotify_etl.transform.batch_tuning``);
- a medium batch (up to ``SHORT_RUN_BYTES``) keeps C2 for what is really hot, and spends less on the rest
  (``LESS_JIT``): a method must be called 10 times as often (or run 10 times as many loop iterations, or 4
  times as many calls and loops) as by default before C2 compiles it (Java 17's Tier4 thresholds: 5,000
  calls, 40,000 loop iterations, 15,000 calls and loops), and C2 inlines less
  deeply (defaults: ``MaxInlineLevel`` 15, ``MaxInlineSize`` 35, ``FreqInlineSize`` 325, ``InlineSmallCode``
  2500). The JSON parse and the explodes still reach C2 within the first seconds;
- a larger batch, a run of many minutes where compiling pays back, keeps the JVM's defaults.
"""

from __future__ import annotations

from spotify_etl.transform import batch_tuning

QUICK_START = ("-XX:TieredStopAtLevel=1",)
LESS_JIT = (
    "-XX:Tier4InvocationThreshold=50000",
    "-XX:Tier4CompileThreshold=60000",
    "-XX:Tier4BackEdgeThreshold=400000",
    "-XX:MaxInlineLevel=6",
    "-XX:MaxInlineSize=20",
    "-XX:FreqInlineSize=150",
    "-XX:InlineSmallCode=1000",
)
# Above this much gzip a full run takes minutes (make bench's L tier, 504 MB: about 9 minutes) and keeps the
# JVM's defaults; the bound is a judgement between the M tier (measured) and L (not measured with LESS_JIT).
SHORT_RUN_BYTES = 128 * 1024 * 1024


def driver_options(raw_bytes: int | None) -> tuple[str, ...]:
    """The JVM options of a local run that will read ``raw_bytes`` of gzip (None: unknown, so large)."""
    if batch_tuning.is_small_batch(raw_bytes):
        return QUICK_START
    if raw_bytes is not None and raw_bytes <= SHORT_RUN_BYTES:
        return LESS_JIT
    return ()
