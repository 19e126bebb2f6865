"""The Glue edge: the only module that touches GlueContext, Job and DynamicFrames.

``run_glue_job(argv)`` is the whole job: parse arguments with ``getResolvedOptions`` -> ``Job.init`` ->
bookmarked read of raw/ (``transformation_ctx`` = ``RAW_TRANSFORMATION_CTX``) -> ``run_transform`` (plain
PySpark, shared with the local runtime) -> ``job.commit()`` last, only after every write succeeded.

The raw objects are read as text lines (CSV reader with a separator and quote that never occur in JSON
text), so that the envelope is parsed exactly once, by ``from_json`` with the explicit schema, and a
malformed object becomes a quarantine row instead of a failed read. Glue groups the many small objects into
larger tasks (``groupFiles``/``groupSize``).

Which objects are read is the one raw-object rule (:mod:`spotify_etl.transform.raw_objects`): the prefix as the
read's path, hidden objects as its ``exclusions``, the name rule applied to ``source_file`` after the read. An
object Glue's reader cannot decode is quarantined, not fatal (:class:`GlueRuntime`).
"""

from __future__ import annotations

import gzip
import json
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from pyspark import StorageLevel
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from spotify_etl.config import (
    DEFAULT_BOOKMARK_OPTION,
    DEFAULT_TARGET_FILE_MB,
    JOB_ARGS,
    OPTIONAL_JOB_ARGS,
    RAW_TRANSFORMATION_CTX,
    TransformConfig,
)
from spotify_etl.lake import raw_objects_root
from spotify_etl.runtime import run_metrics
from spotify_etl.sparkutil import apply_parquet_write_conf
from spotify_etl.transform.job import RawBatch, run_transform
from spotify_etl.transform.raw_objects import (
    GLUE_EXCLUSIONS,
    RAW_SUFFIX,
    Rejection,
    exclusion_for,
    is_hidden,
    name_rejection,
    unreadable_object,
)
from spotify_etl.transform.storage import HadoopFileSystem
from spotify_etl.transform.summary import RunSummary

GROUP_SIZE_BYTES = 64 * 1024 * 1024
FILENAME_COLUMN = "source_file"


def config_from_args(args: dict[str, Any]) -> TransformConfig:
    """The typed config from ``getResolvedOptions``' dict (bookmark option included)."""

    def optional_int(name: str) -> int | None:
        value = args.get(name)
        return int(value) if value not in (None, "") else None

    return TransformConfig(
        job_name=args["JOB_NAME"],
        raw_path=args["raw_path"].rstrip("/"),
        curated_path=args["curated_path"].rstrip("/"),
        quarantine_path=args["quarantine_path"].rstrip("/"),
        staging_path=args["staging_path"].rstrip("/"),
        bookmark_option=args.get("job_bookmark_option") or DEFAULT_BOOKMARK_OPTION,
        target_file_mb=optional_int("target_file_mb") or DEFAULT_TARGET_FILE_MB,
        shuffle_partitions=optional_int("shuffle_partitions"),
        metrics_namespace=args.get("metrics_namespace") or None,
    )


def _given_names(argv: Sequence[str]) -> list[str]:
    """The option names of ``argv``: ``--name value`` and ``--name=value`` both give ``name``."""
    return [token.split("=", 1)[0][2:] for token in argv[1:] if token.startswith("--") and token != "--"]


def abbreviated_args(argv: Sequence[str]) -> list[tuple[str, str]]:
    """``(given, full)`` for every ``--name`` of ``argv`` that is only a prefix of one of the job's arguments.

    Glue 5.0's ``getResolvedOptions`` (argparse's default) takes ``--raw`` for ``--raw_path``; Glue 6.0's
    refuses abbreviations (aws-glue-libs release notes, August 18 2026, "Breaking change: getResolvedOptions
    no longer accepts abbreviated argument names": https://github.com/awslabs/aws-glue-libs#release-notes).
    The job refuses them on both versions, so that an argument works on 5.0 exactly when it works on 6.0.
    """
    names = (*JOB_ARGS, *OPTIONAL_JOB_ARGS, "job-bookmark-option")
    return [
        (f"--{given}", f"--{name}")
        for given in _given_names(argv)
        if given not in names
        for name in names
        if name.startswith(given)
    ]


def resolve_args(argv: Sequence[str]) -> dict[str, Any]:
    """``getResolvedOptions`` for the required arguments plus the optional ones present on the command line.

    Raises:
        GlueArgumentError: an argument is missing, or named by an abbreviation (refused as Glue 6.0 does).
    """
    from awsglue.utils import GlueArgumentError, getResolvedOptions

    abbreviated = abbreviated_args(argv)
    if abbreviated:
        raise GlueArgumentError(
            "abbreviated argument names are refused (Glue 6.0 refuses them): "
            + ", ".join(f"{given} (write {full})" for given, full in abbreviated)
        )
    present = [name for name in OPTIONAL_JOB_ARGS if name in _given_names(argv)]
    resolved: dict[str, Any] = getResolvedOptions(list(argv), [*JOB_ARGS, *present])
    return resolved


@dataclass
class GlueRuntime:
    """Glue's bookmarked read of raw/ and ``job.commit()``.

    No poison pill: Glue's reader decompresses by file name, so an object named ``.json.gz`` that is not gzip
    (or is truncated) fails the read before any code of ours sees a row. The read is therefore materialized
    here, inside a ``try``; when it fails, every raw object under the prefix is probed (its bytes decompressed in
    the driver), the undecodable ones become quarantine rows, and the bookmarked read is done again with those
    objects added to its ``exclusions``. The bookmark still moves only at ``job.commit()``, after every write.
    """

    glue_context: Any
    job: Any
    config: TransformConfig

    def _read(self, spark: SparkSession, exclusions: Sequence[str]) -> DataFrame:
        """The bookmarked read, materialized (one row per line), so that a failure of Glue's reader is raised
        here."""
        dynamic_frame = self.glue_context.create_dynamic_frame.from_options(
            **raw_read_options(self.config.raw_path, exclusions)
        )
        frame_df = dynamic_frame.toDF()
        value_columns = [c for c in frame_df.columns if c != FILENAME_COLUMN]
        if not value_columns:  # nothing new since the bookmark: Glue gives a frame without columns
            return spark.createDataFrame([], "source_file string, value string")
        lines_df = frame_df.select(
            F.col(FILENAME_COLUMN).alias("source_file"), F.col(value_columns[0]).cast("string").alias("value")
        ).persist(StorageLevel.MEMORY_AND_DISK)
        lines_df.count()  # the reader runs here, where its failure can be caught
        return lines_df

    def read_new_raw(self, spark: SparkSession) -> RawBatch:
        undecodable: list[Rejection] = []
        try:
            lines_df = self._read(spark, GLUE_EXCLUSIONS)
        except Exception as error:  # Glue's reader failed inside the JVM: find the objects it cannot decode
            fs = HadoopFileSystem(spark)
            root = raw_objects_root(self.config.raw_path)
            undecodable = find_undecodable(fs, root)
            if not undecodable:
                raise
            print(
                f"raw read failed ({type(error).__name__}); {len(undecodable)} undecodable object(s) quarantined"
            )
            excluded = [exclusion_for(uri[len(root) + 1 :]) for uri, _, _ in undecodable]
            lines_df = self._read(spark, [*GLUE_EXCLUSIONS, *excluded])
        misnamed = [
            row.source_file
            for row in lines_df.filter(~F.col("source_file").endswith(RAW_SUFFIX))
            .select("source_file")
            .distinct()
            .collect()
        ]
        return RawBatch(
            raw_df=lines_df.filter(F.col("source_file").endswith(RAW_SUFFIX)),
            rejected_before_read=[*undecodable, *(r for r in map(name_rejection, misnamed) if r is not None)],
        )

    def rejected_after_read(self, checked_df: DataFrame) -> list[Rejection]:
        """None: Glue's reader fails on an object it cannot read (``read_new_raw`` quarantines those)."""
        return []

    def commit(self) -> bool:
        self.job.commit()
        return self.config.bookmark_advances


def raw_read_options(raw_path: str, exclusions: Sequence[str]) -> dict[str, Any]:
    """The arguments of Glue's bookmarked read of raw/ (``create_dynamic_frame.from_options``)."""
    return {
        "connection_type": "s3",
        "connection_options": {
            "paths": [raw_objects_root(raw_path) + "/"],
            "recurse": True,
            "exclusions": json.dumps(list(exclusions)),
            "groupFiles": "inPartition",
            "groupSize": str(GROUP_SIZE_BYTES),
        },
        "format": "csv",
        "format_options": {
            "separator": "\u0001",
            "quoteChar": -1,
            "withHeader": False,
            "attachFilename": FILENAME_COLUMN,
        },
        "transformation_ctx": RAW_TRANSFORMATION_CTX,
    }


def find_undecodable(fs: HadoopFileSystem, root: str) -> list[Rejection]:
    """Quarantine rows for the raw objects under ``root`` that Glue's reader cannot decode.

    Every visible object is probed (the bookmark's selection is not exposed), so this costs one read of the
    prefix; it runs only when the bookmarked read failed.
    """
    rows = []
    for relative in fs.list_tree(root):
        uri = f"{root}/{relative}"
        if is_hidden(relative) or not relative.endswith(".gz"):
            continue  # hidden: never read; not .gz: read as plain text, never a decode failure
        try:
            gzip.decompress(fs.read_bytes(uri))
        except (OSError, EOFError, zlib.error):
            row = unreadable_object(fs, uri)
            if row is not None:
                rows.append(row)
    return rows


def _default_glue_factories() -> tuple[Callable[[], Any], Callable[[Any], Any]]:
    from awsglue.context import GlueContext
    from awsglue.job import Job
    from pyspark.context import SparkContext

    return (lambda: GlueContext(SparkContext.getOrCreate())), Job


def run_glue_job(
    argv: Sequence[str],
    glue_context_factory: Callable[[], Any] | None = None,
    job_factory: Callable[[Any], Any] | None = None,
    metrics_client: Any = None,
) -> int:
    """The Glue job's main. The factories and the client exist for the boundary test; Glue uses the real ones."""
    args = resolve_args(argv)
    config = config_from_args(args)
    if glue_context_factory is None or job_factory is None:
        glue_context_factory, job_factory = _default_glue_factories()
    glue_context = glue_context_factory()
    spark: SparkSession = glue_context.spark_session
    apply_parquet_write_conf(spark)
    job = job_factory(glue_context)
    job.init(args["JOB_NAME"], args)
    summary: RunSummary = run_transform(spark, GlueRuntime(glue_context, job, config), config)
    print(summary.format())
    print(json.dumps({"event": "transform_summary", **summary.to_dict()}, sort_keys=True))
    if config.metrics_namespace:
        run_metrics.publish(summary, args["JOB_NAME"], config.metrics_namespace, metrics_client)
    return 0
