"""The Glue edge: the only module that touches GlueContext, Job and DynamicFrames.

``run_glue_job(argv)`` is the whole job: parse arguments with ``getResolvedOptions`` -> ``Job.init`` ->
bookmarked read of raw/ (``transformation_ctx`` = ``RAW_TRANSFORMATION_CTX``) -> ``run_transform`` (plain
PySpark, shared with the local runtime) -> ``job.commit()`` last, only after every write succeeded.

The raw objects are read as text lines (CSV reader with a separator and quote that never occur in JSON
text), so that the envelope is parsed exactly once, by ``from_json`` with the explicit schema, and a
malformed object becomes a quarantine row instead of a failed read. Glue groups the many small objects into
larger tasks (``groupFiles``/``groupSize``).

Known limit on Glue: an object that is not gzip at all but is named ``.json.gz`` fails inside Glue's reader
(Hadoop's codec), before any code of ours sees it; the extract Lambda never writes such objects. The local
runtime, which lists objects itself, quarantines them as ``not_gzip``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from spotify_etl.config import JOB_ARGS, OPTIONAL_JOB_ARGS, RAW_TRANSFORMATION_CTX, TransformConfig
from spotify_etl.transform.job import RawBatch, run_transform
from spotify_etl.transform.summary import RunSummary

GROUP_SIZE_BYTES = 64 * 1024 * 1024
RAW_PREFIX = "playlists/"
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
        bookmark_option=args.get("job_bookmark_option") or "job-bookmark-enable",
        target_file_mb=optional_int("target_file_mb") or 128,
        shuffle_partitions=optional_int("shuffle_partitions"),
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
    """Glue's bookmarked read of raw/ and ``job.commit()``."""

    glue_context: Any
    job: Any
    config: TransformConfig

    def read_new_raw(self, spark: SparkSession) -> RawBatch:
        dynamic_frame = self.glue_context.create_dynamic_frame.from_options(
            connection_type="s3",
            connection_options={
                "paths": [f"{self.config.raw_path}/{RAW_PREFIX}"],
                "recurse": True,
                "groupFiles": "inPartition",
                "groupSize": str(GROUP_SIZE_BYTES),
            },
            format="csv",
            format_options={
                "separator": "\u0001",
                "quoteChar": -1,
                "withHeader": False,
                "attachFilename": FILENAME_COLUMN,
            },
            transformation_ctx=RAW_TRANSFORMATION_CTX,
        )
        frame_df = dynamic_frame.toDF()
        value_columns = [c for c in frame_df.columns if c != FILENAME_COLUMN]
        if not value_columns:  # nothing new since the bookmark: Glue gives a frame without columns
            return RawBatch(lines_df=spark.createDataFrame([], "source_file string, value string"))
        lines_df = frame_df.select(
            F.col(FILENAME_COLUMN).alias("source_file"), F.col(value_columns[0]).cast("string").alias("value")
        )
        return RawBatch(lines_df=lines_df)

    def commit(self) -> bool:
        self.job.commit()
        return self.config.bookmark_option == "job-bookmark-enable"


def _default_glue_factories() -> tuple[Callable[[], Any], Callable[[Any], Any]]:
    from awsglue.context import GlueContext
    from awsglue.job import Job
    from pyspark.context import SparkContext

    return (lambda: GlueContext(SparkContext.getOrCreate())), Job


def run_glue_job(
    argv: Sequence[str],
    glue_context_factory: Callable[[], Any] | None = None,
    job_factory: Callable[[Any], Any] | None = None,
) -> int:
    """The Glue job's main. The factories exist for the boundary test; Glue uses the real ones."""
    args = resolve_args(argv)
    config = config_from_args(args)
    if glue_context_factory is None or job_factory is None:
        glue_context_factory, job_factory = _default_glue_factories()
    glue_context = glue_context_factory()
    spark: SparkSession = glue_context.spark_session
    spark.conf.set("spark.sql.session.timeZone", "UTC")
    spark.conf.set("spark.sql.parquet.outputTimestampType", "TIMESTAMP_MICROS")
    job = job_factory(glue_context)
    job.init(args["JOB_NAME"], args)
    summary: RunSummary = run_transform(spark, GlueRuntime(glue_context, job, config), config)
    print(summary.format())
    print(json.dumps({"event": "transform_summary", **summary.to_dict()}, sort_keys=True))
    return 0
