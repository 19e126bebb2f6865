"""Typed, frozen configuration of the transform job: its arguments, defaults and tables.

The Glue job receives its arguments as ``--name value`` pairs (``getResolvedOptions``); the local CLI
builds the same object from ``--lake DIR`` (:class:`spotify_etl.lake.LakeLayout`). ``JOB_ARGS`` is the one list of the job's required
arguments: the CloudFormation template passes exactly these (a test ties the two together).
"""

from __future__ import annotations

from dataclasses import dataclass

# Required arguments of glue_jobs/transform_playlists.py (getResolvedOptions makes every listed one required).
JOB_ARGS: tuple[str, ...] = ("JOB_NAME", "raw_path", "curated_path", "quarantine_path", "staging_path")
# Optional tuning arguments: read only when present on the command line.
OPTIONAL_JOB_ARGS: tuple[str, ...] = (
    "target_file_mb",
    "shuffle_partitions",
    "metrics_namespace",
    "metrics_region",
)

BOOKMARK_ENABLE = "job-bookmark-enable"  # the one option under which a commit advances the bookmark
BOOKMARK_OPTIONS = (BOOKMARK_ENABLE, "job-bookmark-disable", "job-bookmark-pause")
DEFAULT_BOOKMARK_OPTION = BOOKMARK_ENABLE  # as Glue's --job-bookmark-option (the template sets it too)
DEFAULT_TARGET_FILE_MB = 128
DEFAULT_JOB_NAME = "spotify-transform-playlists"
RAW_TRANSFORMATION_CTX = "raw_playlists"  # the stable transformation_ctx of the bookmarked read of raw/


@dataclass(frozen=True)
class TransformConfig:
    """Everything one run of the transform needs to know.

    Attributes:
        job_name: the bookmark namespace (Glue's JOB_NAME).
        raw_path: root of the raw zone; objects live under ``<raw_path>/playlists/...``.
        curated_path: root of the curated tables, ``<curated_path>/<table>/snapshot_date=.../``.
        quarantine_path: root of the quarantine, ``<quarantine_path>/rejected/rejected_date=.../``.
        staging_path: scratch space for a run's output before it is swapped into curated/.
        bookmark_option: one of BOOKMARK_OPTIONS.
        target_file_mb: a partition is split into several files only when one would exceed this.
        shuffle_partitions: explicit shuffle width; None sizes it to the data.
        metrics_namespace: CloudWatch namespace of the run's metrics (Glue only); None publishes none.
        metrics_region: the region whose CloudWatch gets them: the job's own (the template passes
            ``AWS::Region``), never boto3's default, which a Glue worker does not promise to set.
    """

    job_name: str
    raw_path: str
    curated_path: str
    quarantine_path: str
    staging_path: str
    bookmark_option: str = DEFAULT_BOOKMARK_OPTION
    target_file_mb: int = DEFAULT_TARGET_FILE_MB
    shuffle_partitions: int | None = None
    metrics_namespace: str | None = None
    metrics_region: str | None = None

    @property
    def bookmark_advances(self) -> bool:
        """Whether a commit of this run moves the bookmark (only ``job-bookmark-enable`` does)."""
        return self.bookmark_option == BOOKMARK_ENABLE

    def __post_init__(self) -> None:
        if self.bookmark_option not in BOOKMARK_OPTIONS:
            raise ValueError(
                f"bookmark option {self.bookmark_option!r} is not one of {', '.join(BOOKMARK_OPTIONS)}"
            )
        if self.metrics_namespace and not self.metrics_region:
            raise ValueError("metrics_namespace needs metrics_region (the job's own region)")
        if self.target_file_mb <= 0:
            raise ValueError(f"target_file_mb must be positive, got {self.target_file_mb}")
