"""Where the audit reads a lake: a local lake folder, or an S3 bucket (and prefix) through boto3.

Both give the same three things: the raw objects (URI, last-modified time, as the transform's listing sees
them), the Parquet files under a folder, and an object's bytes. Neither needs Spark.

On S3 the raw objects are listed as Glue's S3 reader lists them: every key under ``raw/``, paginated, with
keys whose path has a part starting with ``_`` or ``.`` left out (Hadoop's hidden-file rule, the one the
local listing applies too).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from spotify_etl.lake import LakeLayout, NotLocalError, local_path
from spotify_etl.runtime.local.bookmarks import ObjectVersion


class AuditConfigError(RuntimeError):
    """The lake cannot be read at all (missing folder, unknown bucket, no credentials)."""


class LakeStore(Protocol):
    lake: str  # as the user named it, for the hints
    layout: LakeLayout  # raw/, curated/, quarantine/ as URIs (source_file spells raw objects this way)

    def raw_objects(self) -> list[ObjectVersion]: ...

    def parquet_files(self, folder: str) -> list[str]:
        """Local paths of the Parquet files under ``folder`` (downloaded first when the lake is remote)."""
        ...

    def read_bytes(self, uri: str) -> bytes: ...

    def files(self, folder: str, suffix: str) -> dict[str, str]:
        """Every visible file under ``folder`` ending in ``suffix``: key relative to ``folder`` -> local path
        (downloaded first when the lake is remote); {} when the folder is absent."""
        ...


@dataclass
class LocalLakeStore:
    """A lake folder on this machine; raw objects are listed by the transform's own listing."""

    lake: str

    def __post_init__(self) -> None:
        if not Path(self.lake).is_dir():
            raise AuditConfigError(f"no lake folder at {self.lake}")
        self.layout = LakeLayout.from_lake(self.lake)

    def raw_objects(self) -> list[ObjectVersion]:
        from spotify_etl.runtime.local.transform import list_raw_objects

        if not local_path(self.layout.raw).is_dir():
            return []
        return list_raw_objects(self.layout.raw)

    def parquet_files(self, folder: str) -> list[str]:
        return list(self.files(folder, ".parquet").values())

    def files(self, folder: str, suffix: str) -> dict[str, str]:
        root = local_path(folder)
        found = {}
        for directory, dirnames, filenames in os.walk(root):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith((".", "_")))
            for name in sorted(filenames):
                if name.endswith(suffix) and name[0] not in "._":
                    path = Path(directory) / name
                    found[str(path.relative_to(root))] = str(path)
        return found

    def read_bytes(self, uri: str) -> bytes:
        return local_path(uri).read_bytes()


@dataclass
class S3LakeStore:
    """``s3://bucket[/prefix]``: raw/, curated/ and quarantine/ under the prefix, as the stack lays them out."""

    lake: str
    client: Any = None

    def __post_init__(self) -> None:
        import boto3

        bucket, _, prefix = self.lake.removeprefix("s3://").partition("/")
        if not bucket:
            raise AuditConfigError(f"{self.lake!r} names no bucket (expected s3://bucket[/prefix])")
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.client = self.client or boto3.client("s3")
        self._downloads = tempfile.TemporaryDirectory(prefix="spotify-etl-audit-")
        self._copies: dict[str, str] = {}  # key -> its downloaded copy
        self.layout = LakeLayout.from_lake(f"s3://{bucket}" + (f"/{self.prefix}" if self.prefix else ""))

    def _key(self, uri: str) -> str:
        return uri.removeprefix(f"s3://{self.bucket}/")

    def _list(self, folder: str) -> Iterator[dict[str, Any]]:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            pages = self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=self._key(folder).rstrip("/") + "/"
            )
            for page in pages:
                yield from page.get("Contents", [])
        except (ClientError, BotoCoreError) as error:
            raise AuditConfigError(f"cannot list {folder}: {error}") from error

    def _visible(self, key: str, folder: str) -> bool:
        relative = key.removeprefix(self._key(folder).rstrip("/") + "/")
        return not any(part.startswith(("_", ".")) for part in relative.split("/"))

    def raw_objects(self) -> list[ObjectVersion]:
        return sorted(
            (
                ObjectVersion(
                    f"s3://{self.bucket}/{item['Key']}",
                    int(item["LastModified"].timestamp() * 1000),
                    int(item["Size"]),
                )
                for item in self._list(self.layout.raw)
                if not item["Key"].endswith("/") and self._visible(item["Key"], self.layout.raw)
            ),
            key=lambda o: o.uri,
        )

    def parquet_files(self, folder: str) -> list[str]:
        return list(self.files(folder, ".parquet").values())

    def files(self, folder: str, suffix: str) -> dict[str, str]:
        prefix = self._key(folder).rstrip("/") + "/"
        keys = sorted(
            item["Key"]
            for item in self._list(folder)
            if item["Key"].endswith(suffix) and self._visible(item["Key"], folder)
        )
        found = {}
        for key in keys:
            if key not in self._copies:
                path = Path(self._downloads.name) / f"{len(self._copies)}{suffix}"
                self.client.download_file(self.bucket, key, str(path))
                self._copies[key] = str(path)
            found[key.removeprefix(prefix)] = self._copies[key]
        return found

    def read_bytes(self, uri: str) -> bytes:
        body: bytes = self.client.get_object(Bucket=self.bucket, Key=self._key(uri))["Body"].read()
        return body


def open_store(lake: str) -> LocalLakeStore | S3LakeStore:
    """The store of ``--lake``: ``s3://...`` through boto3, anything else a local folder."""
    if lake.startswith("s3://"):
        return S3LakeStore(lake)
    try:
        folder = local_path(lake)
    except NotLocalError:
        raise AuditConfigError(f"{lake!r}: give a lake folder or s3://bucket[/prefix]") from None
    return LocalLakeStore(str(folder))
