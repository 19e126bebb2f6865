"""The local driver JVM's options follow the batch: C1 only for a small one, C2 kept for a large one."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from pyspark.sql import SparkSession

from spotify_etl.runtime.local import jvm
from spotify_etl.runtime.local.transform import config_for_lake, run_local_transform
from spotify_etl.transform import batch_tuning
from tests import builders as b


def test_a_small_batch_compiles_with_c1_only_and_a_large_one_keeps_c2() -> None:
    assert jvm.driver_options(0) == ("-XX:TieredStopAtLevel=1",)
    assert jvm.driver_options(batch_tuning.SMALL_BATCH_BYTES) == ("-XX:TieredStopAtLevel=1",)
    assert jvm.driver_options(batch_tuning.SMALL_BATCH_BYTES + 1) == ()
    assert jvm.driver_options(None) == ()


@pytest.mark.parametrize(
    ("small_batch_bytes", "expected"),
    [(batch_tuning.SMALL_BATCH_BYTES, ("-XX:TieredStopAtLevel=1",)), (10, ())],
)
def test_a_local_run_starts_its_jvm_with_the_options_of_its_batch(
    spark: SparkSession,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    small_batch_bytes: int,
    expected: tuple[str, ...],
) -> None:
    """One object of a few KB: small under the real threshold, large above a threshold of 10 bytes."""
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
