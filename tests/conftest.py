"""Shared fixtures: one SparkSession for the whole test session, sized for a 2-core machine."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterator

import pytest
from pyspark.sql import SparkSession

os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)


@pytest.fixture(scope="session")
def spark() -> Iterator[SparkSession]:
    from spotify_etl.runtime.local.jvm import driver_options
    from spotify_etl.sparkutil import local_spark_session

    # Tests read tiny data: the JVM options of a small batch (C1 only).
    session = local_spark_session(
        app_name="spotify-etl-tests", shuffle_partitions=2, jvm_options=driver_options(raw_bytes=0)
    )
    yield session
    session.stop()
    # py4j logs "Closing down clientserver connection" from __del__ at interpreter exit, after pytest has
    # closed the streams its handlers write to; that message is of no use to anyone.
    logging.getLogger("py4j").setLevel(logging.WARNING)
