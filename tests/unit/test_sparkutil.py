"""The local session's settings that change what each PySpark call costs."""

from __future__ import annotations

import pytest
from py4j.clientserver import ClientServerConnection
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from spotify_etl.sparkutil import DATAFRAME_DEBUGGING, spark_major_version


@pytest.mark.skipif(spark_major_version() < 4, reason="PySpark 3.5 records no call site")
def test_building_columns_and_a_plan_records_no_python_call_site_in_the_jvm(
    spark: SparkSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PySpark 4 would send every Column and DataFrame call's call site to the JVM first
    (``PySparkCurrentOrigin.set`` and ``clear``, around each call); local sessions turn that off."""
    import pyspark.errors.utils

    # PySpark reads the setting once per process, at the first call it wraps: read it again, from this session
    monkeypatch.setattr(pyspark.errors.utils, "_enable_debugging_cache", None)
    sent: list[str] = []
    send = ClientServerConnection.send_command

    def recorded(self: ClientServerConnection, command: str) -> str:
        sent.append(command)
        return send(self, command)

    monkeypatch.setattr(ClientServerConnection, "send_command", recorded)
    doubled = spark.range(3).select((F.col("id") * F.lit(2)).alias("doubled")).where(F.col("doubled") > 0)

    assert spark.conf.get(DATAFRAME_DEBUGGING) == "false"
    assert [row.doubled for row in doubled.collect()] == [2, 4]
    assert sent  # the calls went through the recorder
    assert [command for command in sent if "PySparkCurrentOrigin" in command] == []
