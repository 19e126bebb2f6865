"""The only map of a lake: where each zone and each local file lives, and the only URI <-> path helpers.

A lake is one root, local (a folder, or ``file://``) or on S3 (``s3://bucket[/prefix]``), with the same key
layout in both places (docs/design.md s.2):

==========================  ===========================================================  ============
key under the root           what                                                         where
==========================  ===========================================================  ============
``raw/playlists/...``        raw observations, one gzip JSON object each (the Lambda)      local + S3
``curated/<table>/...``      the curated tables' Parquet files, by ``snapshot_date``       local + S3
``curated/symlinks/...``     what readers see: one manifest per table partition            local + S3
``quarantine/rejected/...``  the quarantine table, Parquet by ``rejected_date``            local + S3
``_staging/``                a run's output before it is swapped into place                local + S3
``_bookmarks/``              the local job bookmark (Glue keeps its own on AWS)             local
``_state/extract/``          the extractor's state (artist cache, progress)                local + S3
``_simulator/state.json``    the simulated clock of ``make run``                           local
``_writer.lock``             one writer per lake                                           local
``catalog.duckdb``           the local crawler's Data Catalog                              local
``report/``                  the HTML report                                               local
==========================  ===========================================================  ============

URIs of local files are ``file://`` + the absolute path, never percent-encoded: Hadoop's ``Path`` takes them as
written, Spark reports them that way, and an object name may hold ``?``, ``#`` or ``%41`` (a name is data).

This module is part of the Glue job's library: standard library only.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

LOCAL_SCHEME = "file://"
RAW_ZONE = "raw"
CURATED_ZONE = "curated"
QUARANTINE_ZONE = "quarantine"
SYMLINKS_FOLDER = "symlinks"  # curated/<this>/<table>/snapshot_date=.../symlink.txt (docs/design.md I5)
MANIFEST_NAME = "symlink.txt"
STAGING_ZONE = "_staging"
BOOKMARKS_ZONE = "_bookmarks"
RAW_OBJECTS_FOLDER = "playlists"  # raw/<this>/ingest_date=.../playlist_id=.../<object>.json.gz
QUARANTINE_TABLE = "rejected"
SIMULATOR_STATE = "_simulator/state.json"
WRITER_LOCK = "_writer.lock"
CATALOG_FILE = "catalog.duckdb"
REPORT_FOLDER = "report"
DEFAULT_LOCAL_LAKE = "lake"  # every local command's --lake default (relative to the working directory)


class NotLocalError(ValueError):
    """A URI that names no local file (``s3://...``) where only a local one will do."""


def to_uri(path_or_uri: str | Path) -> str:
    """A URI: ``s3://``/``file://`` kept as given (without a trailing ``/``), a local path made absolute."""
    text = str(path_or_uri)
    if "://" in text:
        return text.rstrip("/")
    return LOCAL_SCHEME + str(Path(text).expanduser().resolve())


def path_uri(path: Path) -> str:
    """``file://`` + the absolute path as is (a symlink is not resolved: a listing names the link)."""
    return LOCAL_SCHEME + str(path.absolute())


def local_path(uri: str | Path) -> Path:
    """The filesystem path of a ``file://`` URI (``file:`` too), or of a plain path; refuses other schemes.

    The text after the scheme is taken literally (no URL parsing, no unquoting): see the module docstring.
    """
    text = str(uri)
    if text.startswith(LOCAL_SCHEME):
        return Path(text[len(LOCAL_SCHEME) :])
    if text.startswith("file:"):
        return Path(text[len("file:") :])
    if "://" in text:
        raise NotLocalError(f"{text!r} is not a local path: the local runtime reads and writes file:// only")
    return Path(text)


def table_symlinks(curated_path: str, table: str) -> str:
    """A curated table's catalog location: ``<curated>/symlinks/<table>``, one manifest per partition folder
    naming the Parquet files readers see (SymlinkTextInputFormat; docs/design.md I5)."""
    return f"{curated_path.rstrip('/')}/{SYMLINKS_FOLDER}/{table}"


def manifest_entries(data: bytes) -> list[str]:
    """The file URIs a partition's manifest lists, one per line (Hive's SymlinkTextInputFormat)."""
    return [line.strip() for line in data.decode("utf-8").splitlines() if line.strip()]


def raw_objects_root(raw_path: str) -> str:
    """The prefix holding the raw observations: ``<raw_path>/playlists``."""
    return f"{raw_path.rstrip('/')}/{RAW_OBJECTS_FOLDER}"


@dataclass(frozen=True)
class LakeLayout:
    """The zones of one lake as URIs (``file://`` or ``s3://``), and its local-only files as paths."""

    root: str
    raw: str
    curated: str
    quarantine: str
    staging: str
    bookmarks: str
    given: Path | None = None  # a local lake as the user named it (relative stays relative in messages)

    @classmethod
    def from_lake(cls, lake: str | Path) -> LakeLayout:
        root = to_uri(lake)
        return cls(
            root=root,
            raw=f"{root}/{RAW_ZONE}",
            curated=f"{root}/{CURATED_ZONE}",
            quarantine=f"{root}/{QUARANTINE_ZONE}",
            staging=f"{root}/{STAGING_ZONE}",
            bookmarks=f"{root}/{BOOKMARKS_ZONE}",
            given=local_path(lake) if root.startswith(LOCAL_SCHEME) else None,
        )

    @classmethod
    def of(cls, lake: LakeLayout | str | Path) -> LakeLayout:
        """``lake`` itself when it is a layout already, else :meth:`from_lake` of it.

        A command builds its lake's layout once (``--lake`` parses into one) and passes it down; functions
        that also take a path (tests, the library API) call this instead of rebuilding a given layout.
        """
        return lake if isinstance(lake, LakeLayout) else cls.from_lake(lake)

    @property
    def raw_objects(self) -> str:
        return raw_objects_root(self.raw)

    def table(self, name: str) -> str:
        """A curated table's folder."""
        return f"{self.curated}/{name}"

    def symlinks(self, name: str) -> str:
        """A curated table's catalog location (the folder of its partitions' manifests)."""
        return table_symlinks(self.curated, name)

    @property
    def quarantine_table(self) -> str:
        return f"{self.quarantine}/{QUARANTINE_TABLE}"

    # ---- local-only files (the embedded default stack); each refuses an s3:// lake with NotLocalError

    @property
    def local_root(self) -> Path:
        return self.given if self.given is not None else local_path(self.root)

    @property
    def catalog_file(self) -> Path:
        return self.local_root / CATALOG_FILE

    @property
    def report_dir(self) -> Path:
        return self.local_root / REPORT_FOLDER

    @property
    def simulator_state(self) -> Path:
        return self.local_root / SIMULATOR_STATE

    @property
    def writer_lock(self) -> Path:
        return self.local_root / WRITER_LOCK

    @property
    def extract_state(self) -> Path:
        """The extractor's state folder, the same key as in the S3 bucket (the Lambda owns that key)."""
        from extract_lambda.state import STATE_PREFIX  # the Lambda's package; not in the Glue job's library

        return self.local_root / STATE_PREFIX
