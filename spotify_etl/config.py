"""Typed, frozen configuration of the transform job, and the lake's fixed layout.

The Glue job receives its arguments as ``--name value`` pairs (``getResolvedOptions``); the local CLI
builds the same object from ``--lake DIR``. ``JOB_ARGS`` is the one list of the job's required
arguments: the CloudFormation template passes exactly these (a test ties the two together).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

# Required arguments of glue_jobs/transform_playlists.py (getResolvedOptions makes every listed one required).
JOB_ARGS: tuple[str, ...] = ("JOB_NAME", "raw_path", "curated_path", "quarantine_path", "staging_path")
# Optional tuning arguments: read only when present on the command line.
OPTIONAL_JOB_ARGS: tuple[str, ...] = ("target_file_mb", "shuffle_partitions", "metrics_namespace")

BOOKMARK_OPTIONS = ("job-bookmark-enable", "job-bookmark-disable", "job-bookmark-pause")
DEFAULT_JOB_NAME = "spotify-transform-playlists"
RAW_TRANSFORMATION_CTX = "raw_playlists"  # the stable transformation_ctx of the bookmarked read of raw/

CURATED_TABLES: tuple[str, ...] = (
    "playlist_snapshots",
    "playlist_items",
    "tracks",
    "albums",
    "artists",
    "track_artists",
)


def to_uri(path_or_uri: str | Path) -> str:
    """Return a URI: ``s3://``/``file://`` kept as given, a local path made absolute ``file://``.

    Local URIs are not percent-encoded (``file:///lake/raw/ingest_date=...``): Hadoop's ``Path`` takes
    them as written, and so do the file:// paths Spark reports.
    """
    text = str(path_or_uri)
    if "://" in text:
        return text.rstrip("/")
    return "file://" + str(Path(text).expanduser().resolve())


@dataclass(frozen=True)
class LakeLayout:
    """Where each zone lives. Locally all under one lake directory, same key layout as S3."""

    raw: str
    curated: str
    quarantine: str
    staging: str
    bookmarks: str

    @classmethod
    def from_lake(cls, lake: str | Path) -> LakeLayout:
        root = to_uri(lake)
        return cls(
            raw=f"{root}/raw",
            curated=f"{root}/curated",
            quarantine=f"{root}/quarantine",
            staging=f"{root}/_staging",
            bookmarks=f"{root}/_bookmarks",
        )


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
    """

    job_name: str
    raw_path: str
    curated_path: str
    quarantine_path: str
    staging_path: str
    bookmark_option: str = "job-bookmark-enable"
    target_file_mb: int = 128
    shuffle_partitions: int | None = None
    metrics_namespace: str | None = None

    def __post_init__(self) -> None:
        if self.bookmark_option not in BOOKMARK_OPTIONS:
            raise ValueError(
                f"bookmark option {self.bookmark_option!r} is not one of {', '.join(BOOKMARK_OPTIONS)}"
            )
        if self.target_file_mb <= 0:
            raise ValueError(f"target_file_mb must be positive, got {self.target_file_mb}")
