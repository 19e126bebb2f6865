"""The Glue edge: the only module that touches GlueContext, Job and DynamicFrames.

``run_glue_job(argv)`` is the whole job: parse arguments with ``getResolvedOptions`` -> ``Job.init`` ->
bookmarked read of raw/ (``transformation_ctx`` = ``RAW_TRANSFORMATION_CTX``) -> ``run_transform`` (plain
PySpark, shared with the local runtime) -> ``job.commit()`` last, only after every write succeeded.

The raw objects are read as text lines (CSV reader with a separator and quote that never occur in JSON
text), so that the envelope is parsed exactly once, by ``from_json`` with the explicit schema, and a
malformed object becomes a quarantine row instead of a failed read. Glue groups the many small objects into
larger tasks (``groupFiles``/``groupSize``).

Which objects are read is the one raw-object rule (:mod:`spotify_etl.transform.raw_objects`): the prefix as the
read's path, hidden objects as its ``exclusions``, the name rule applied to ``source_file`` after the read. A read
that Glue's reader fails stops the run in one line (:class:`GlueRuntime`, :class:`RawReadError`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
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
from spotify_etl.sparkutil import prepare_glue_session
from spotify_etl.transform.driver_rows import driver_rows
from spotify_etl.transform.job import RawBatch, run_transform
from spotify_etl.transform.quality_gate import QualityGateFailed, counts
from spotify_etl.transform.raw_objects import GLUE_EXCLUSIONS, RAW_SUFFIX, Rejection, name_rejection
from spotify_etl.transform.schema import RAW_TEXT
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
        metrics_region=args.get("metrics_region") or None,
        land_despite_quality_errors=str(args.get("land_despite_quality_errors") or "").lower() == "true",
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


class RawReadError(RuntimeError):
    """Glue's bookmarked read of raw/ failed: the run stops before any write; the message is one line."""


@dataclass
class GlueRuntime:
    """Glue's bookmarked read of raw/ and ``job.commit()``.

    One bookmarked read per run, with one ``transformation_ctx``: AWS documents the bookmark of a source read
    once per run and nothing about a second read of it with other options, so there is no retry with more
    ``exclusions``. Objects Glue's reader cannot decode are kept out of raw/ instead (only the extract Lambda
    writes there, and it lands only validated gzip: docs/design.md s.8). If the read fails anyway, the run stops
    here, before any write and with the bookmark unmoved, with one line naming the objects the error names and the
    operator command that moves undecodable objects to the quarantine (:func:`read_failure_message`).
    """

    glue_context: Any
    job: Any
    config: TransformConfig

    def _read(self, spark: SparkSession) -> tuple[DataFrame, int]:
        """The bookmarked read, materialized (one row per line), so that a failure of Glue's reader is raised
        here, and the bytes of text it gave (the same job: the batch's size, ``batch_tuning.judged_bytes``)."""
        dynamic_frame = self.glue_context.create_dynamic_frame.from_options(
            **raw_read_options(self.config.raw_path, GLUE_EXCLUSIONS)
        )
        frame_df = dynamic_frame.toDF()
        value_columns = [c for c in frame_df.columns if c != FILENAME_COLUMN]
        if not value_columns:  # nothing new since the bookmark: Glue gives a frame without columns
            return driver_rows(spark, [], RAW_TEXT), 0
        lines_df = frame_df.select(
            F.col(FILENAME_COLUMN).alias("source_file"), F.col(value_columns[0]).cast("string").alias("value")
        ).persist(StorageLevel.MEMORY_AND_DISK)
        # the reader runs here, where its failure can be caught
        (measured,) = lines_df.agg(F.coalesce(F.sum(F.octet_length("value")), F.lit(0))).collect()
        return lines_df, int(measured[0])

    def read_new_raw(self, spark: SparkSession) -> RawBatch:
        try:
            lines_df, text_bytes = self._read(spark)
        except Exception as error:  # Glue's reader failed inside the JVM: stop, name what can be named
            message = read_failure_message(error, self.config.raw_path, datetime.now(UTC).date())
            raise RawReadError(message) from error
        misnamed = [
            row.source_file
            for row in lines_df.filter(~F.col("source_file").endswith(RAW_SUFFIX))
            .select("source_file")
            .distinct()
            .collect()
        ]
        return RawBatch(
            raw_df=lines_df.filter(F.col("source_file").endswith(RAW_SUFFIX)),
            rejected_before_read=[r for r in map(name_rejection, misnamed) if r is not None],
            text_bytes=text_bytes,
        )

    def rejected_after_read(self, checked_df: DataFrame) -> list[Rejection]:
        """None: Glue's reader either gives an object's lines or fails the read (``read_new_raw`` stops)."""
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


def named_objects(error_text: str, raw_path: str) -> list[str]:
    """The raw objects (``<root>/...gz``) that an error's text names, in order of first mention."""
    root = raw_objects_root(raw_path)
    found = re.findall(re.escape(root) + r"/[^\n\r'\"]*?\.gz", error_text)
    return list(dict.fromkeys(found))


def read_failure_message(error: BaseException, raw_path: str, today: date) -> str:
    """One line: what failed, the objects the error names, and the operator command (docs/transform.md).

    The command probes only the objects landed since ``--since`` (the day before the run by default), never the
    whole raw history; an older undecodable object is found with an earlier ``--since`` or named by URI.
    """
    text = str(error)
    first_line = next((line.strip() for line in text.splitlines() if line.strip()), type(error).__name__)
    named = named_objects(text, raw_path)
    lake = raw_path.rstrip("/").rsplit("/", 1)[0]
    since = (today - timedelta(days=1)).isoformat()
    return (
        f"the bookmarked read of raw/ failed ({type(error).__name__}: {first_line[:300]}); "
        f"objects named by the error: {', '.join(named) if named else 'none'}; nothing was written and the "
        f"bookmark did not move. Move the objects Glue cannot read to the quarantine, then run the job again: "
        f"spotify-etl quarantine-raw --lake {lake} --since {since} (docs/transform.md, 'A raw object Glue "
        "cannot read')"
    )


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
    prepare_glue_session(spark)
    job = job_factory(glue_context)
    job.init(args["JOB_NAME"], args)
    try:
        summary: RunSummary = run_transform(spark, GlueRuntime(glue_context, job, config), config)
    except QualityGateFailed as stopped:  # the alarm's metric, then the job fails with the rules' lines
        if config.metrics_namespace and config.metrics_region:
            data = run_metrics.quality_metric_data(counts(stopped.results), args["JOB_NAME"])
            run_metrics.publish(
                data, args["JOB_NAME"], config.metrics_namespace, config.metrics_region, metrics_client
            )
        raise
    print(summary.format())
    print(json.dumps({"event": "transform_summary", **summary.to_dict()}, sort_keys=True))
    if config.metrics_namespace and config.metrics_region:
        run_metrics.publish(
            summary, args["JOB_NAME"], config.metrics_namespace, config.metrics_region, metrics_client
        )
    return 0
