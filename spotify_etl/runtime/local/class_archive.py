"""The local driver JVM's class-data archive: Spark's classes loaded once, at install, mapped by every start.

Most of a local JVM's start and of a small run's first queries is loading and verifying Spark's classes
(about 20,000 of them, from the jars of the venv's pyspark). HotSpot's dynamic class-data sharing (JDK 13+,
https://docs.oracle.com/en/java/javase/17/vm/class-data-sharing.html) writes the classes a JVM loaded into an
archive when it exits (``-XX:ArchiveClassesAtExit``); a later JVM with the same JDK and class path maps the
archive (``-XX:SharedArchiveFile``) instead of loading them again. Measured on the 2-core machine: a session
start and a first small write went from 10.5-11.2 s to 5.6-6.0 s (docs/performance.md).

``make install`` builds one archive per venv (``python -m spotify_etl.runtime.local.class_archive``): a JVM
that runs the transform over a few generated raw objects, so that the archive holds what a run loads. Every
local session then uses it (:func:`archive_options`). What can go wrong, and why it is safe:

- a JDK or class path other than the archive's (a Java update, a reinstalled venv): the JVM refuses the
  archive and loads classes as usual; its one-line warning is switched off (``-Xlog:cds=off``), so a run's
  output stays the pipeline's;
- a torn archive: HotSpot does not check an archive's length and crashes on a short one (SIGBUS, measured),
  so the archive is written under a temporary name and renamed when complete, its length is recorded beside
  it, and an archive whose length differs is not used;
- damaged content of the same length: ``-XX:+VerifySharedSpaces`` checks the archive's CRC at start (about
  70 ms for 140 MB) and refuses it on a mismatch;
- no archive (a venv made without ``make``): sessions start as before.

Glue starts its job's JVM itself, before the script runs; none of this applies there.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from datetime import UTC, date, datetime
from pathlib import Path

ARCHIVE_NAME = "spark-classes.jsa"
# Checked (its CRC, about 70 ms) and, when refused, refused silently.
_GUARDS = ("-XX:+VerifySharedSpaces", "-Xlog:cds=off", "-Xlog:cds+dynamic=off")
_TRAINING_PLAYLISTS = 3
_TRAINING_DAYS = 2


def archive_path(prefix: str = sys.prefix) -> Path:
    """Where this venv's archive lives (inside the venv, so that it goes when the venv goes)."""
    return Path(prefix) / ARCHIVE_NAME


def _length_path(archive: Path) -> Path:
    return archive.with_name(archive.name + ".length")


def archive_options(archive: Path | None = None) -> tuple[str, ...]:
    """The driver JVM options that map the venv's archive; none when it is missing or not whole."""
    archive = archive or archive_path()
    try:
        whole = int(_length_path(archive).read_text()) == archive.stat().st_size
    except (OSError, ValueError):
        return ()
    return (f"-XX:SharedArchiveFile={archive}", *_GUARDS) if whole else ()


def build(archive: Path | None = None) -> Path:
    """Run the training transform in a JVM that archives its classes at exit; install the archive whole.

    Raises:
        RuntimeError: the training run failed; its output is kept beside the archive (``*.training.log``),
            the message is one line naming it; no archive is installed.
    """
    archive = archive or archive_path()
    _length_path(archive).unlink(missing_ok=True)  # the training JVM must not map the old archive
    with tempfile.TemporaryDirectory(prefix="spotify-etl-cds-") as work:
        partial = Path(work) / ARCHIVE_NAME
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "spotify_etl.runtime.local.class_archive",
                "--train",
                str(partial),
                str(Path(work) / "lake"),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0 or not partial.is_file():
            log = archive.with_name(archive.stem + ".training.log")
            log.write_text(done.stdout + done.stderr, encoding="utf-8")
            raise RuntimeError(f"the training run failed (exit {done.returncode}); its output is in {log}")
        shutil.move(partial, archive.with_name(archive.name + ".partial"))
        os.replace(archive.with_name(archive.name + ".partial"), archive)
        _length_path(archive).write_text(str(archive.stat().st_size))
    return archive


def _train(partial: Path, lake: Path) -> None:
    """The transform over a few generated objects, in a JVM that writes ``partial`` when it exits."""
    from spotify_etl.runtime.local.jvm import driver_options
    from spotify_etl.runtime.local.transform import config_for_lake, run_local_transform
    from spotify_etl.sparkutil import local_spark_session

    _land_training_objects(lake / "raw")
    spark = local_spark_session(
        app_name="spotify-etl-class-archive",
        jvm_options=(*driver_options(raw_bytes=0), f"-XX:ArchiveClassesAtExit={partial}"),
    )
    run_local_transform(config_for_lake(lake)[0], spark)
    jvm = spark.sparkContext._gateway.proc  # type: ignore[union-attr]
    spark.stop()
    jvm.stdin.close()  # the JVM exits on end of input, and writes the archive before it does
    jvm.wait()


def _land_training_objects(raw: Path) -> None:
    from spotify_etl.local_extract import LocalLander, land_simulated
    from spotify_etl.simulator.world import ChartWorld

    world = ChartWorld(7, start=date(2026, 1, 1), n_playlists=_TRAINING_PLAYLISTS, playlist_size=20)
    lander = LocalLander(raw)
    for day in range(_TRAINING_DAYS):
        for playlist_id in world.playlist_ids:
            land_simulated(lander, world, playlist_id, datetime(2026, 1, 1 + day, 3, tzinfo=UTC))


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["--train"]:
        _train(Path(args[1]), Path(args[2]))
        return 0
    try:
        print(f"class-data archive: {build()}")
    except RuntimeError as error:
        print(f"class-data archive not built (sessions start without it): {error}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
