"""The local driver JVM's options follow the batch: C1 only for a small one, less C2 work for a medium one,
the JVM's defaults for a large one."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pyspark.sql import SparkSession

from spotify_etl.runtime.local import jvm
from spotify_etl.runtime.local.transform import config_for_lake, run_local_transform
from spotify_etl.transform import batch_tuning
from tests import builders as b


def test_a_small_batch_compiles_with_c1_only_a_medium_one_with_less_c2_and_a_large_one_as_the_jvm_does() -> (
    None
):
    assert jvm.driver_options(0) == ("-XX:TieredStopAtLevel=1",)
    assert jvm.driver_options(batch_tuning.SMALL_BATCH_BYTES) == ("-XX:TieredStopAtLevel=1",)
    assert jvm.driver_options(batch_tuning.SMALL_BATCH_BYTES + 1) == jvm.LESS_JIT
    assert jvm.driver_options(jvm.SHORT_RUN_BYTES) == jvm.LESS_JIT
    assert jvm.driver_options(jvm.SHORT_RUN_BYTES + 1) == ()
    assert jvm.driver_options(None) == ()


def test_the_jvm_accepts_every_option_it_is_given() -> None:
    # A misspelt -XX option stops the JVM before it starts ("Unrecognized VM option"): every run of that band
    # would fail. The JVM this venv's Spark runs on is asked to start with each set and print its flags.
    for options in (jvm.QUICK_START, jvm.LESS_JIT):
        started = subprocess.run(
            [_java(), *options, "-XX:+PrintFlagsFinal", "-version"],
            capture_output=True,
            text=True,
            check=False,
        )
        assert started.returncode == 0, started.stderr
        for option in options:
            name, value = option.removeprefix("-XX:").split("=")
            assert re.search(rf"\b{name}\s+= {value}\s", started.stdout), option


@pytest.mark.parametrize(
    ("small_batch_bytes", "expected"),
    [(batch_tuning.SMALL_BATCH_BYTES, ("-XX:TieredStopAtLevel=1",)), (10, jvm.LESS_JIT)],
)
def test_a_local_run_starts_its_jvm_with_the_options_of_its_batch(
    spark: SparkSession,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    small_batch_bytes: int,
    expected: tuple[str, ...],
) -> None:
    """One object of a few KB: small under the real threshold, medium above a threshold of 10 bytes."""
    monkeypatch.setattr(batch_tuning, "SMALL_BATCH_BYTES", small_batch_bytes)
    uri = b.land(tmp_path / "lake" / "raw", b.envelope(extracted_at=datetime(2026, 11, 20, 3, tzinfo=UTC)))
    started_with: list[tuple[str, ...]] = []

    def session(jvm_options: tuple[str, ...] = ()) -> SparkSession:
        started_with.append(tuple(jvm_options))
        return spark  # the test's session stands in for the JVM this run would start

    monkeypatch.setattr("spotify_etl.sparkutil.local_spark_session", session)
    config, bookmarks = config_for_lake(tmp_path / "lake")
    summary = run_local_transform(config, None, bookmarks_root=bookmarks)

    assert summary.objects_valid == 1, uri
    assert started_with == [expected]


def _java() -> str:
    """The java that PySpark starts (``JAVA_HOME``'s, else the one on the PATH)."""
    home = os.environ.get("JAVA_HOME")
    found = os.path.join(home, "bin", "java") if home else shutil.which("java")
    assert found, "no java"
    return found
