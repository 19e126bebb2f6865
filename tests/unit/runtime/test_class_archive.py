"""The driver JVM's class-data archive: used only whole, silent when the JVM refuses it, usable by the sessions.

The JVM is real (the JDK that runs Spark here); the venv's archive is the one ``make install-test`` built.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from pyspark.sql import SparkSession

from spotify_etl.runtime.local import class_archive
from spotify_etl.runtime.local.class_archive import ARCHIVE_NAME, archive_options, archive_path


def _write_archive(folder: Path, body: bytes, recorded_length: int | None) -> Path:
    archive = folder / ARCHIVE_NAME
    archive.write_bytes(body)
    if recorded_length is not None:
        archive.with_name(ARCHIVE_NAME + ".length").write_text(str(recorded_length))
    return archive


def test_an_archive_is_mapped_only_when_it_is_as_long_as_when_it_was_built(tmp_path: Path) -> None:
    whole = _write_archive(tmp_path, b"x" * 64, recorded_length=64)
    assert archive_options(whole) == (
        f"-XX:SharedArchiveFile={whole}",
        "-XX:+VerifySharedSpaces",
        "-Xlog:cds=off",
        "-Xlog:cds+dynamic=off",
    )

    torn = _write_archive(tmp_path, b"x" * 10, recorded_length=64)  # HotSpot crashes on a short archive
    assert archive_options(torn) == ()
    unrecorded = tmp_path / "other"
    unrecorded.mkdir()
    assert archive_options(_write_archive(unrecorded, b"x" * 64, recorded_length=None)) == ()
    assert archive_options(tmp_path / "missing.jsa") == ()


def _java(spark: SparkSession) -> str:
    return str(Path(spark._jvm.System.getProperty("java.home")) / "bin" / "java")  # type: ignore[union-attr]


def test_a_jvm_that_refuses_the_archive_starts_anyway_and_says_nothing(
    spark: SparkSession, tmp_path: Path
) -> None:
    archive = archive_path()
    if not archive_options(archive):
        pytest.skip(f"this venv has no class-data archive ({archive}): made without 'make install'")
    other_class_path = tmp_path  # not the class path the archive was built with: the JVM refuses it

    started = subprocess.run(
        [_java(spark), *archive_options(archive), "-cp", str(other_class_path), "-version"],
        capture_output=True,
        text=True,
        check=False,
    )

    assert started.returncode == 0
    assert "shared archive" not in (started.stdout + started.stderr).lower()


def test_the_sessions_jvm_maps_the_venvs_archive_and_the_archive_fits_it(spark: SparkSession) -> None:
    archive = archive_path()
    if not archive_options(archive):
        pytest.skip(f"this venv has no class-data archive ({archive}): made without 'make install'")
    jvm = spark._jvm  # type: ignore[attr-defined]
    arguments = list(jvm.java.lang.management.ManagementFactory.getRuntimeMXBean().getInputArguments())
    class_path = jvm.System.getProperty("java.class.path")

    # -Xshare:on makes a JVM that cannot map the archive (other JDK, other class path) fail to start.
    mapped = subprocess.run(
        [_java(spark), "-Xshare:on", f"-XX:SharedArchiveFile={archive}", "-cp", class_path, "-version"],
        capture_output=True,
        text=True,
        check=False,
    )

    assert f"-XX:SharedArchiveFile={archive}" in arguments
    assert mapped.returncode == 0, mapped.stdout + mapped.stderr


def test_a_failed_training_run_installs_nothing_and_says_so_in_one_line_with_its_output_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The training program is a stand-in that fails the way any program does: output, then a non-zero exit."""
    archive = tmp_path / ARCHIVE_NAME
    failing = tmp_path / "failing-python"
    failing.write_text('#!/bin/sh\necho "the training broke on: $*" >&2\nexit 3\n')
    failing.chmod(0o755)
    monkeypatch.setattr(class_archive, "archive_path", lambda: archive)
    monkeypatch.setattr(class_archive.sys, "executable", str(failing))

    assert class_archive.main([]) == 0  # an install-time report: the install goes on without the archive

    log = tmp_path / "spark-classes.training.log"
    assert capsys.readouterr().err == (
        "class-data archive not built (sessions start without it): "
        f"the training run failed (exit 3); its output is in {log}\n"
    )
    assert log.read_text(encoding="utf-8").startswith("the training broke on: -m spotify_etl.runtime.local")
    assert (archive.exists(), archive_options(archive)) == (False, ())
