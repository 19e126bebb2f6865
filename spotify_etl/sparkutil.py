"""The local SparkSession, configured like the Glue 5.0 job where it matters (UTC, Parquet, dynamic overwrite)."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path

import pyspark
from pyspark.sql import SparkSession

from spotify_etl.transform.jvm_cache import import_hot_names

# Warnings and errors only, so that a local run's output is the pipeline's, not Spark's start-up chatter.
_LOG4J2 = Path(__file__).with_name("log4j2.properties")

# How Parquet stores dates and timestamps, for every session that writes the lake (local and the Glue job).
# Spark 3.x defaults the rebase modes to EXCEPTION: writing a date before 1582-10-15 (an album released
# "1200-05-01"; release dates are free-form) or a timestamp before 1900-01-01 fails the whole write with
# WRITE_ANCIENT_DATETIME. CORRECTED writes the value as it is, in the proleptic Gregorian calendar that
# Spark 3+, Trino (Athena engine v3) and DuckDB all use, so every reader sees 1200-05-01; LEGACY would
# shift it into the Julian calendar that only Spark 2.x and Hive 2 read back correctly. Spark 4.0 makes
# CORRECTED the default (SPARK-46440). The timestamps are TIMESTAMP_MICROS, so the INT96 modes only matter
# if that ever changes; they are set the same way so that the choice is one fact.
# https://spark.apache.org/docs/3.5.4/sql-migration-guide.html (Upgrading from Spark SQL 3.0 to 3.1/2.4 to 3.0)
# https://issues.apache.org/jira/browse/SPARK-46440
PARQUET_WRITE_CONF: dict[str, str] = {
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",
    "spark.sql.parquet.datetimeRebaseModeInWrite": "CORRECTED",
    "spark.sql.parquet.datetimeRebaseModeInRead": "CORRECTED",
    "spark.sql.parquet.int96RebaseModeInWrite": "CORRECTED",
    "spark.sql.parquet.int96RebaseModeInRead": "CORRECTED",
}


# Generated classes kept for reuse: the ~130 of one transform, the quality gate's and the reports' (measured:
# docs/performance.md, "Columns built once, classes compiled once").
CODEGEN_CACHE_ENTRIES = 1000

# The module Spark runs as the Python workers' daemon in local sessions (PySpark's own, without Spark's archives
# on the workers' path: see the module).
PYTHON_DAEMON_MODULE = "spotify_etl.runtime.local.python_daemon"

# PySpark 4's capture of each call's Python call site (a static SQL setting; local sessions turn it off).
DATAFRAME_DEBUGGING = "spark.python.sql.dataFrameDebugging.enabled"


def prepare_glue_session(spark: SparkSession) -> None:
    """Prepare the session Glue creates as :func:`local_spark_session` prepares its own: ``PARQUET_WRITE_CONF``
    set, and the hot names imported (``jvm_cache.import_hot_names``)."""
    for key, value in PARQUET_WRITE_CONF.items():
        spark.conf.set(key, value)
    import_hot_names(spark)


def spark_major_version() -> int:
    """The major version of the installed PySpark (and so of its JVM): 3 or 4."""
    return int(pyspark.__version__.split(".")[0])


def glue_version() -> str:
    """The AWS Glue version whose Spark runs here: 6.0 on Spark 4 (4.1.1), 5.0 on Spark 3 (3.5.4)."""
    return "6.0" if spark_major_version() >= 4 else "5.0"


def local_spark_session(
    app_name: str = "spotify-etl", shuffle_partitions: int = 4, jvm_options: Sequence[str] = ()
) -> SparkSession:
    """A local-mode session for a small machine: no UI, few shuffle partitions, UTC everywhere.

    Glue sets the session time zone to UTC; so do we, so that ``extracted_at`` and ``snapshot_date``
    agree between the two runtimes. ``jvm_options`` are added to the driver JVM's options when this call
    starts the JVM (``spotify_etl.runtime.local.jvm``: the quick-start options of a small run), after those
    that map the venv's class-data archive (``spotify_etl.runtime.local.class_archive``) when it has one.
    """
    from spotify_etl.runtime.local.class_archive import archive_options

    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    builder = (
        SparkSession.builder.master(os.environ.get("SPOTIFY_ETL_SPARK_MASTER", "local[2]"))
        .appName(app_name)
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", str(shuffle_partitions))
        .config("spark.default.parallelism", "2")
        .config(
            "spark.driver.extraJavaOptions",
            " ".join(
                (
                    "-Duser.timezone=UTC -XX:+UseParallelGC",
                    f"-Dlog4j2.configurationFile={_LOG4J2.as_uri()}",
                    *archive_options(),
                    *jvm_options,
                )
            ),
        )
        .config("spark.executor.extraJavaOptions", "-Duser.timezone=UTC")
        .config("spark.sql.parquet.compression.codec", "snappy")
        .config("spark.sql.sources.partitionOverwriteMode", "dynamic")
        .config("spark.sql.adaptive.enabled", "true")
        # Spark lists more than 32 input paths with a distributed job of one task per path (up to 10,000):
        # for 2,000 raw objects that job took 26-57 s on 2 cores, listing them on the driver 2 s (make bench).
        .config("spark.sql.sources.parallelPartitionDiscovery.threshold", "100000")
        # Spark keeps the classes it generates and compiles for a plan in a cache of 100 (StaticSQLConf
        # CODEGEN_CACHE_MAX_ENTRIES); one transform generates about 130, so a process that runs many (make run's
        # days, a test process) compiled them all again each time: ~100 compiles, ~20% of a small run's CPU.
        .config("spark.sql.codegen.cache.maxEntries", str(CODEGEN_CACHE_ENTRIES))
        # Each SQL execution describes its plan for the UI's listener even with the UI off; the default
        # "formatted" description walks the whole plan a second time (ExplainUtils), a few % of a small run's CPU.
        .config("spark.sql.ui.explainMode", "simple")
        # PySpark 4 sends the Python call site of each Column operation to the JVM first (for its errors'
        # "DataFrame context"), about ten py4j round trips more per operation; Spark's own description: "a
        # non-trivial performance overhead". Static, so set here; Spark 3.5 has no such capture (measured in
        # docs/performance.md, "PySpark 4's call sites off in local sessions").
        .config(DATAFRAME_DEBUGGING, "false")
        .config("spark.driver.memory", os.environ.get("SPOTIFY_ETL_DRIVER_MEMORY", "4g"))
        .config(
            "spark.sql.warehouse.dir", os.path.join(os.environ.get("TMPDIR", "/tmp"), "spotify-etl-warehouse")
        )
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.driver.host", "127.0.0.1")
    )
    if os.path.realpath(os.environ["PYSPARK_PYTHON"]) == os.path.realpath(sys.executable):
        # Python workers without Spark's archives on their path: each Python task re-read them (Python 3.11).
        # Only for workers of this interpreter, which has this package; another keeps PySpark's own daemon.
        builder = builder.config("spark.python.daemon.module", PYTHON_DAEMON_MODULE)
    for key, value in PARQUET_WRITE_CONF.items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    import_hot_names(session)
    return session
