"""The transform job on the embedded default stack: local files, local Spark, the local bookmark.

``run_local_transform`` is what ``spotify-etl transform`` and the local workflow runner call; it runs the
very same ``run_transform`` as the Glue job, with a runtime that lists ``<raw>/`` itself and keeps the
bookmark under ``<lake>/_bookmarks/``.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import unquote, urlparse

from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from spotify_etl.config import RAW_TRANSFORMATION_CTX, LakeLayout, TransformConfig, to_uri
from spotify_etl.local.bookmarks import LocalBookmarkStore, ObjectVersion, mark_warnings
from spotify_etl.local.lock import writer_lock
from spotify_etl.transform.job import RawBatch, run_transform
from spotify_etl.transform.summary import RunSummary

RAW_SUFFIX = ".json.gz"
_BYTES_PER_TASK = 16 * 1024 * 1024


def local_path(uri: str) -> Path:
    """The filesystem path of a ``file://`` URI (or a plain path)."""
    if uri.startswith("file:"):
        return Path(unquote(urlparse(uri).path))
    if "://" in uri:
        raise ValueError(f"{uri!r} is not a local path: the local runtime reads and writes file:// only")
    return Path(uri)


def list_raw_objects(raw_root: str) -> list[ObjectVersion]:
    """Every object under the raw root, hidden (``.``/``_``) files and folders skipped, as Spark would."""
    root = local_path(raw_root)
    found = []
    for directory, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith((".", "_")))
        for name in sorted(filenames):
            if name.startswith((".", "_")):
                continue
            path = Path(directory) / name
            stat = path.stat()
            found.append(ObjectVersion(to_uri(path), stat.st_mtime_ns // 1_000_000, stat.st_size))
    return found


@dataclass
class LocalRuntime:
    """The bookmarked read of raw/ and the commit, locally (what Glue's job bookmarks give on AWS)."""

    config: TransformConfig
    bookmarks_root: str
    reprocess: tuple[str, ...] = ()  # process exactly these objects; the bookmark is neither read nor moved
    store: LocalBookmarkStore = field(init=False)
    warnings: list[str] = field(default_factory=list, init=False)
    _selected: list[ObjectVersion] | None = field(default=None, init=False)

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

    def read_new_raw(self, spark: SparkSession) -> RawBatch:
        self._selected = self.select()
        readable = [o.uri for o in self._selected if o.uri.endswith(RAW_SUFFIX)]
        prejected = [
            (
                o.uri,
                "not_gzip",
                f"object name does not end in {RAW_SUFFIX}: raw objects are gzip JSON Lines (DESIGN.md s.2)",
            )
            for o in self._selected
            if not o.uri.endswith(RAW_SUFFIX)
        ]
        if readable:
            lines_df = (
                spark.read.option("ignoreCorruptFiles", "true")
                .text(readable, wholetext=True)  # one row per object: no shuffle to regroup its lines
                .select(F.input_file_name().alias("source_file"), "value")
            )
            # A whole-text read packs fewer objects per partition than a line read (126 partitions at
            # 2,000 objects, make bench); every later stage would inherit that width. Narrow it to the
            # data: about one task per 16 MB of gzip, never fewer than two per core.
            raw_bytes = sum(o.size for o in self._selected)
            width = max(2 * spark.sparkContext.defaultParallelism, math.ceil(raw_bytes / _BYTES_PER_TASK))
            lines_df = lines_df.coalesce(width)
        else:
            lines_df = spark.createDataFrame([], "source_file string, value string")
        return RawBatch(
            lines_df=lines_df,
            listed=readable,
            prejected=prejected,
            raw_bytes=sum(o.size for o in self._selected),
            whole_objects=True,
            warnings=list(self.warnings),
        )

    def commit(self) -> bool:
        if self.reprocess or self.config.bookmark_option != "job-bookmark-enable":
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
    lake: str | Path,
    *,
    bookmark_option: str = "job-bookmark-enable",
    job_name: str | None = None,
    raw: str | None = None,
    curated: str | None = None,
    quarantine: str | None = None,
    target_file_mb: int = 128,
    shuffle_partitions: int | None = None,
) -> tuple[TransformConfig, str]:
    """The transform config of a local lake (with optional root overrides) and its bookmark root."""
    from spotify_etl.config import DEFAULT_JOB_NAME

    layout = LakeLayout.from_lake(lake)
    config = TransformConfig(
        job_name=job_name or DEFAULT_JOB_NAME,
        raw_path=to_uri(raw) if raw else layout.raw,
        curated_path=to_uri(curated) if curated else layout.curated,
        quarantine_path=to_uri(quarantine) if quarantine else layout.quarantine,
        staging_path=layout.staging,
        bookmark_option=bookmark_option,
        target_file_mb=target_file_mb,
        shuffle_partitions=shuffle_partitions,
    )
    return config, layout.bookmarks


def run_local_transform(
    config: TransformConfig,
    spark: SparkSession | None = None,
    bookmarks_root: str | None = None,
    *,
    reprocess: tuple[str, ...] = (),
    wait: bool = False,
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
        LakeLocked: another writer holds the lake (unless ``wait``).
        ReprocessError: a ``reprocess`` URI names no raw object.
        BookmarkError: the bookmark state is corrupt.
    """
    if bookmarks_root is None:
        bookmarks_root = to_uri(local_path(config.raw_path).parent / "_bookmarks")
    for root in (config.raw_path, config.curated_path, config.quarantine_path, config.staging_path):
        local_path(root)  # refuses non-local URIs with a clear message
    if not local_path(config.raw_path).is_dir():
        raise FileNotFoundError(
            f"raw folder {local_path(config.raw_path)} does not exist: land raw objects first "
            "('spotify-etl extract' or 'make run'), or pass --raw"
        )
    # The staging area is always inside the lake (LakeLayout), whatever roots were overridden.
    with writer_lock(local_path(config.staging_path).parent, wait=wait, on_wait=on_wait):
        runtime = LocalRuntime(config, bookmarks_root)
        if spark is None:
            started = time.perf_counter()
            if not runtime.store.select(list_raw_objects(config.raw_path), config.bookmark_option):
                summary = RunSummary(
                    bookmark_option=config.bookmark_option, bookmark_committed=runtime.commit()
                )
                summary.seconds = time.perf_counter() - started
                return summary
            from spotify_etl.sparkutil import local_spark_session

            spark = local_spark_session()
        if now is None:
            return run_transform(spark, runtime, config)
        return run_transform(spark, runtime, config, now=now)
