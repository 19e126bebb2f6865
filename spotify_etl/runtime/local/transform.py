"""The transform job on the embedded default stack: local files, local Spark, the local bookmark.

``run_local_transform`` is what ``spotify-etl transform`` and the local workflow runner call; it runs the
very same ``run_transform`` as the Glue job, with a runtime that lists ``<raw>/`` itself and keeps the
bookmark under ``<lake>/_bookmarks/``.
"""

from __future__ import annotations

import math
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from spotify_etl.config import (
    DEFAULT_BOOKMARK_OPTION,
    DEFAULT_TARGET_FILE_MB,
    RAW_TRANSFORMATION_CTX,
    TransformConfig,
)
from spotify_etl.lake import LakeLayout, local_path, path_uri, raw_objects_root, to_uri
from spotify_etl.runtime.local.bookmarks import LocalBookmarkStore, ObjectVersion, mark_warnings
from spotify_etl.runtime.local.lock import writer_locks
from spotify_etl.transform.bounds import Limits, check_object
from spotify_etl.transform.driver_rows import driver_rows
from spotify_etl.transform.faults import environment_fault
from spotify_etl.transform.job import RawBatch, run_transform
from spotify_etl.transform.jvm_cache import jvm_class
from spotify_etl.transform.raw_objects import (
    Rejection,
    hadoop_literal,
    is_hidden,
    name_rejection,
    unreadable_object,
)
from spotify_etl.transform.schema import ENCODED_NAMES, RAW_TEXT
from spotify_etl.transform.storage import HadoopFileSystem
from spotify_etl.transform.summary import RunSummary

_BYTES_PER_TASK = 16 * 1024 * 1024
# Up to this many objects, the encoded names are mapped back by a map literal in the plan; beyond, by a broadcast
# join. The join costs a Spark job of its own (the broadcast: about 0.9 s of a cold one-object run); a map
# lookup scans its keys, fine for a day's landing, quadratic for a full load.
_NAMES_IN_PLAN_MAX = 128


def list_raw_objects(raw_path: str) -> list[ObjectVersion]:
    """The objects under ``<raw>/playlists/`` that are not hidden (the raw-object rule), sorted.

    A symbolic link is listed by its own metadata (``lstat``), so a dangling one is listed too and quarantined
    when read; a file that vanishes while the folder is listed is not listed.
    """
    root = local_path(raw_objects_root(raw_path))
    found = []
    for directory, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not is_hidden(d))
        for name in sorted(filenames):
            if is_hidden(name):
                continue
            path = Path(directory) / name
            try:
                stat = path.lstat()
            except FileNotFoundError:
                continue
            found.append(ObjectVersion(path_uri(path), stat.st_mtime_ns // 1_000_000, stat.st_size))
    return found


def _dangling(uri: str) -> Rejection | None:
    path = local_path(uri)
    if path.is_symlink() and not path.exists():
        return uri, "unreadable", f"dangling symbolic link to {os.readlink(path)}"
    return None


def _read_literally(spark: SparkSession, uris: list[str]) -> DataFrame:
    """One row per object, ``source_file`` exactly the listed URI (names are data, never patterns).

    Spark glob-expands the paths it is given and reports ``input_file_name()`` percent-encoded
    (``Path.toUri``); so the paths go in escaped, and the encoded names are mapped back to the listed ones.
    """
    # Spark refuses a path that does not exist when the read is planned: read only what is still there (a file
    # deleted later, while the job runs, yields no row: ignoreMissingFiles), so a vanished object is skipped.
    present = [uri for uri in uris if os.path.lexists(local_path(uri))]
    if not present:
        return driver_rows(spark, [], RAW_TEXT)
    hadoop_path = jvm_class("org.apache.hadoop.fs.Path")  # looked up once, not per object
    pairs = [(str(hadoop_path(uri).toUri().toString()), uri) for uri in present]
    read_df = (
        spark.read.option("ignoreCorruptFiles", "true")
        .option("ignoreMissingFiles", "true")
        .text([hadoop_literal(uri) for uri in present], wholetext=True)  # one row per object
        .select(F.input_file_name().alias("encoded"), "value")
    )
    if len(pairs) <= _NAMES_IN_PLAN_MAX and len({encoded for encoded, _ in pairs}) == len(pairs):
        listed = F.create_map(*(F.lit(name) for pair in pairs for name in pair))
        return read_df.select(listed[F.col("encoded")].alias("source_file"), "value").where(
            F.col("source_file").isNotNull()
        )
    names = driver_rows(spark, pairs, ENCODED_NAMES)
    return read_df.join(F.broadcast(names), "encoded").select(F.col("listed").alias("source_file"), "value")


def _read_objects(spark: SparkSession, uris: list[str], raw_bytes: int) -> DataFrame:
    """One row per object (``source_file``, ``value``: its whole text), in partitions sized to the data."""
    if not uris:
        return driver_rows(spark, [], RAW_TEXT)
    # A whole-text read packs fewer objects per partition than a line read (126 partitions at 2,000 objects,
    # make bench); every later stage would inherit that width. Narrow it to the data: about one task per
    # 16 MB of gzip, never fewer than two per core.
    width = max(2 * spark.sparkContext.defaultParallelism, math.ceil(raw_bytes / _BYTES_PER_TASK))
    return _read_literally(spark, uris).coalesce(width)


@dataclass
class LocalRuntime:
    """The bookmarked read of raw/ and the commit, locally (what Glue's job bookmarks give on AWS)."""

    config: TransformConfig
    bookmarks_root: str
    reprocess: tuple[str, ...] = ()  # process exactly these objects; the bookmark is neither read nor moved
    limits: Limits = field(default_factory=Limits)  # what one object may cost (transform/bounds.py)
    store: LocalBookmarkStore = field(init=False)
    warnings: list[str] = field(default_factory=list, init=False)
    _selected: list[ObjectVersion] | None = field(default=None, init=False)
    _readable: list[str] = field(default_factory=list, init=False)  # what read_new_raw gave Spark to read
    _refusing: Future[list[Rejection]] | None = field(default=None, init=False)
    _stop: threading.Event = field(default_factory=threading.Event, init=False)

    def __post_init__(self) -> None:
        self.store = LocalBookmarkStore(self.bookmarks_root, self.config.job_name, RAW_TRANSFORMATION_CTX)

    def select(self) -> list[ObjectVersion]:
        """List raw/ once and choose what this run reads (the bookmark's choice, or the named objects)."""
        if self._selected is None:
            listed = list_raw_objects(self.config.raw_path)
            if self.reprocess:
                self._selected = select_named(listed, self.reprocess, self.config.raw_path)
            else:
                self.warnings = mark_warnings(self.store.load(), listed, datetime.now(UTC))
                self._selected = self.store.select(listed, self.config.bookmark_option)
        return self._selected

    def refuse_while_starting(self) -> None:
        """Start the checks of the selected objects before the read (``_refused``) in a thread of their own,
        so that they run while the JVM starts; ``read_new_raw`` takes their result (or their error). Call
        after ``select`` (the thread reads the selection), and ``stop_refusing`` when the run ends."""
        self.select()
        executor = ThreadPoolExecutor(1, thread_name_prefix="bounds")
        self._refusing = executor.submit(self._refused)
        executor.shutdown(wait=False)  # the thread ends with its one task

    def stop_refusing(self) -> None:
        """Stop the thread's checks at the next object (their result is then never taken): a run that failed
        before its read, or was interrupted, exits without inflating the rest of the batch."""
        self._stop.set()

    def _refused(self) -> list[Rejection]:
        """The selected objects refused before the read: a bad name, a dangling link, a bound exceeded.
        Driver work: the bounds inflate every object (about 2 s for make bench's M tier's 571 MB of JSON)."""
        selected = self.select()
        rejected = [r for r in (name_rejection(o.uri) or _dangling(o.uri) for o in selected) if r]
        # Bounded before Spark materializes anything: an object over a bound is never given to the reader.
        refused = {uri for uri, _, _ in rejected}
        for obj in selected:
            if self._stop.is_set():
                raise RuntimeError("the checks before the read were stopped")
            if obj.uri not in refused and (over := self._over_bounds(obj)):
                rejected.append(over)
        return rejected

    def read_new_raw(self, spark: SparkSession) -> RawBatch:
        selected = self.select()
        refusing, self._refusing = self._refusing, None
        rejected = refusing.result() if refusing is not None else self._refused()
        refused = {uri for uri, _, _ in rejected}
        self._readable = [o.uri for o in selected if o.uri not in refused]
        raw_bytes = sum(o.size for o in selected if o.uri not in refused)
        return RawBatch(
            raw_df=_read_objects(spark, self._readable, raw_bytes),
            whole_objects=True,
            rejected_before_read=rejected,
            raw_bytes=raw_bytes,
            nothing_new=not selected,
            warnings=list(self.warnings),
        )

    def _over_bounds(self, obj: ObjectVersion) -> Rejection | None:
        try:
            return check_object(local_path(obj.uri), obj.uri, obj.size, self.limits)
        except FileNotFoundError:
            return None  # deleted since the listing: the reader skips it too

    def rejected_after_read(self, checked_df: DataFrame) -> list[Rejection]:
        """The objects given to Spark that yielded no row: the reader skips an unreadable gzip
        (``ignoreCorruptFiles``) and a vanished file (``ignoreMissingFiles``); probe why, by name."""
        if not self._readable:
            return []
        # The reader gives source_file exactly as listed (names are data): compare as is.
        accounted = {row.source_file for row in checked_df.select("source_file").collect()}
        fs = HadoopFileSystem(checked_df.sparkSession)
        unread = [unreadable_object(fs, uri) for uri in self._readable if uri not in accounted]
        return [row for row in unread if row is not None]

    def commit(self) -> bool:
        if self.reprocess or not self.config.bookmark_advances:
            return False
        self.store.commit(self.select(), datetime.now(UTC))
        return True


def select_named(listed: list[ObjectVersion], wanted: tuple[str, ...], raw_root: str) -> list[ObjectVersion]:
    """The listed objects named by ``wanted`` (URIs or paths), in listing order; every one must exist."""
    by_path = {os.path.abspath(local_path(o.uri)): o for o in listed}
    missing = [uri for uri in wanted if os.path.abspath(local_path(uri)) not in by_path]
    if missing:
        raise ReprocessError(
            f"not a raw object under {raw_root}: {', '.join(missing)} (pass the URI as 'spotify-etl audit' "
            "or the quarantine's source_file names it)"
        )
    chosen = {os.path.abspath(local_path(uri)) for uri in wanted}
    return [o for o in listed if os.path.abspath(local_path(o.uri)) in chosen]


class ReprocessError(ValueError):
    """A ``--reprocess`` argument names no raw object."""


def config_for_lake(
    lake: LakeLayout | str | Path,
    *,
    bookmark_option: str = DEFAULT_BOOKMARK_OPTION,
    job_name: str | None = None,
    raw: str | None = None,
    curated: str | None = None,
    quarantine: str | None = None,
    target_file_mb: int = DEFAULT_TARGET_FILE_MB,
    shuffle_partitions: int | None = None,
    land_despite_quality_errors: bool = False,
) -> tuple[TransformConfig, str]:
    """The transform config of a local lake (with optional root overrides) and its bookmark root."""
    from spotify_etl.config import DEFAULT_JOB_NAME

    layout = LakeLayout.of(lake)
    config = TransformConfig(
        job_name=job_name or DEFAULT_JOB_NAME,
        raw_path=to_uri(raw) if raw else layout.raw,
        curated_path=to_uri(curated) if curated else layout.curated,
        quarantine_path=to_uri(quarantine) if quarantine else layout.quarantine,
        staging_path=layout.staging,
        bookmark_option=bookmark_option,
        target_file_mb=target_file_mb,
        shuffle_partitions=shuffle_partitions,
        land_despite_quality_errors=land_despite_quality_errors,
    )
    return config, layout.bookmarks


def run_local_transform(
    config: TransformConfig,
    spark: SparkSession | None = None,
    bookmarks_root: str | None = None,
    *,
    reprocess: tuple[str, ...] = (),
    wait: float | None = None,
    on_wait: Callable[[str], None] | None = None,
    now: Callable[[], datetime] | None = None,
) -> RunSummary:
    """Run the transform locally, holding the lake's writer lock. ``bookmarks_root`` defaults to
    ``_bookmarks`` beside the raw root.

    Without a session given, Spark starts only when there is something new to read: a run with nothing
    new since the bookmark costs a listing, not a JVM start.

    With ``reprocess``, exactly the named raw objects are processed, whatever the bookmark says, and the
    bookmark is left as it is (a targeted repair; see docs/transform.md). ``now`` is the run's clock
    (default the real one; ``make run`` passes its simulated clock, see ``transform/plausibility.py``).

    Raises:
        LakeLocked: another writer holds a lake the run writes (still, after ``wait`` seconds).
        ReprocessError: a ``reprocess`` URI names no raw object.
        BookmarkError: the bookmark state is corrupt.
        EnvironmentFault: a folder of the run cannot be written, or the disk, permissions or network
            failed during the run (nothing quarantined for it, bookmark unmoved).
    """
    if bookmarks_root is None:
        bookmarks_root = LakeLayout.from_lake(local_path(config.raw_path).parent).bookmarks
    _check_local_roots(config)
    with writer_locks(written_lakes(config), wait=wait, on_wait=on_wait):
        runtime = LocalRuntime(config, bookmarks_root, reprocess=tuple(reprocess))
        if spark is not None:
            return run_transform(spark, runtime, config, now=now)
        started = time.perf_counter()
        if not runtime.select():
            return _commit_without_spark(runtime, started)
        from spotify_etl.runtime.local.jvm import driver_options
        from spotify_etl.sparkutil import local_spark_session

        runtime.refuse_while_starting()
        try:
            # The JVM's options follow the batch's size, known from the listing before the JVM starts.
            spark = local_spark_session(jvm_options=driver_options(sum(o.size for o in runtime.select())))
            return run_transform(spark, runtime, config, now=now)
        finally:
            runtime.stop_refusing()  # a run that failed before its read does not wait for the checks


def written_lakes(config: TransformConfig) -> list[Path]:
    """Every lake the run writes: the staging area's (always inside ``--lake``, LakeLayout) and the lake of
    each overridden root (its parent folder: ``B/curated`` is lake B's), so that their writers are excluded."""
    roots = (config.staging_path, config.curated_path, config.quarantine_path)
    return [local_path(root).parent for root in roots]


def _check_local_roots(config: TransformConfig) -> None:
    """Refuse non-local roots, a missing raw folder and a folder the run cannot write, each in one line.

    Raises:
        EnvironmentFault: a folder the run writes is on a read-only file system or not writable; checked
            before anything starts, so that a lake where every write would fail gives up at once.
    """
    for root in (config.raw_path, config.curated_path, config.quarantine_path, config.staging_path):
        local_path(root)  # refuses non-local URIs with a clear message
    if not local_path(config.raw_path).is_dir():
        raise FileNotFoundError(
            f"raw folder {local_path(config.raw_path)} does not exist: land raw objects first "
            "('spotify-etl extract' or 'make run'), or pass --raw"
        )
    for root in (config.curated_path, config.quarantine_path, config.staging_path):
        _check_writable(local_path(root))


def _check_writable(folder: Path) -> None:
    """Whether the run could create files in ``folder`` (or its nearest existing ancestor), without writing.

    ``access(2)`` answers EROFS for a read-only file system even to root, and EACCES to anyone else.
    """
    existing = folder.absolute()
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if os.access(existing, os.W_OK):
        return
    cause = "read-only file system" if os.statvfs(existing).f_flag & os.ST_RDONLY else "permission denied"
    raise environment_fault(f"{cause}: cannot write {existing} (for {folder})")


def _commit_without_spark(runtime: LocalRuntime, started: float) -> RunSummary:
    """The run when nothing is new since the bookmark and no session was given: the commit only."""
    summary = RunSummary(
        bookmark_option=runtime.config.bookmark_option,
        bookmark_committed=runtime.commit(),
        warnings=list(runtime.warnings),  # why nothing is new may be the point: a mark that hides objects
    )
    summary.seconds = time.perf_counter() - started
    return summary
