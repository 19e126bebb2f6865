"""File operations through Hadoop's FileSystem API, so that one code path works on ``file://`` locally
and on ``s3://`` inside Glue (EMRFS), with the credentials and retries Spark already has.
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from typing import Any

from pyspark.sql import SparkSession

from spotify_etl.lake import local_path
from spotify_etl.transform.jvm_cache import jvm_class


@dataclass(frozen=True)
class FileStatus:
    uri: str
    size: int
    modified_ms: int


class HadoopFileSystem:
    """A thin wrapper over ``org.apache.hadoop.fs.FileSystem`` for the few operations the job needs."""

    def __init__(self, spark: SparkSession) -> None:
        self._conf: Any = spark.sparkContext._jsc.hadoopConfiguration()

    def _path(self, uri: str) -> tuple[Any, Any]:
        path = jvm_class("org.apache.hadoop.fs.Path")(uri)
        return path.getFileSystem(self._conf), path

    def exists(self, uri: str) -> bool:
        fs, path = self._path(uri)
        return bool(fs.exists(path))

    def list_files(self, uri: str, suffix: str = "") -> list[FileStatus]:
        """Files directly under ``uri`` (not recursive), hidden ones (``_``/``.``) skipped; [] if absent."""
        fs, path = self._path(uri)
        if not fs.exists(path):
            return []
        found = []
        for status in fs.listStatus(path):
            name = status.getPath().getName()
            if status.isFile() and not name.startswith(("_", ".")) and name.endswith(suffix):
                found.append(
                    FileStatus(
                        str(status.getPath().toString()),
                        int(status.getLen()),
                        int(status.getModificationTime()),
                    )
                )
        return sorted(found, key=lambda f: f.uri)

    def list_tree(self, uri: str) -> list[str]:
        """The keys of every file below ``uri``, relative to it (recursive, hidden ones included); [] if absent."""
        fs, path = self._path(uri)
        if not fs.exists(path):
            return []
        root = str(fs.makeQualified(path).toUri().getPath()).rstrip("/") + "/"
        found = []
        files = fs.listFiles(path, True)
        while files.hasNext():
            found.append(str(files.next().getPath().toUri().getPath()).removeprefix(root))
        return sorted(found)

    def read_bytes(self, uri: str) -> bytes:
        """The whole content of a (small) file."""
        fs, path = self._path(uri)
        stream = fs.open(path)
        try:
            return bytes(jvm_class("org.apache.commons.io.IOUtils").toByteArray(stream))
        finally:
            stream.close()

    def status(self, uri: str) -> FileStatus:
        fs, path = self._path(uri)
        found = fs.getFileStatus(path)
        return FileStatus(
            str(found.getPath().toString()), int(found.getLen()), int(found.getModificationTime())
        )

    def sha256(self, uri: str) -> str:
        """The file's SHA-256, hex, streamed through the JVM (commons-codec ships with Spark and Hadoop)."""
        fs, path = self._path(uri)
        stream = fs.open(path)
        try:
            return str(jvm_class("org.apache.commons.codec.digest.DigestUtils").sha256Hex(stream))
        finally:
            stream.close()

    def write_bytes(self, uri: str, data: bytes) -> None:
        """Create (or replace) a small file holding ``data``."""
        fs, path = self._path(uri)
        stream = fs.create(path, True)
        try:
            stream.write(bytearray(data))
        finally:
            stream.close()

    def list_dirs(self, uri: str) -> list[str]:
        fs, path = self._path(uri)
        if not fs.exists(path):
            return []
        return sorted(str(s.getPath().toString()) for s in fs.listStatus(path) if s.isDirectory())

    def rename(self, source: str, target: str) -> None:
        fs, src = self._path(source)
        _, dst = self._path(target)
        fs.mkdirs(dst.getParent())
        if not fs.rename(src, dst):
            raise OSError(f"could not move {source} to {target}")

    def replace_file(self, uri: str, data: bytes, scratch: str) -> None:
        """Make ``uri`` hold ``data`` in one step: a reader sees the old content or the new, never a mix or none.

        On S3 this is one PUT: "Amazon S3 never adds partial objects" and "updates to a single key are atomic"
        (https://docs.aws.amazon.com/AmazonS3/latest/userguide/Welcome.html#ConsistencyModel). Locally the
        file is written under ``scratch`` (same file system, outside every table) and renamed over ``uri``:
        rename(2) replaces the target atomically. Neither leaves a temporary or checksum file next to ``uri``.
        """
        fs, path = self._path(uri)
        if str(fs.getScheme()) == "file":  # S3 needs no folders (and EMRFS would add marker objects)
            target = local_path(str(path.toUri().getPath()))
            target.parent.mkdir(parents=True, exist_ok=True)
            temporary = local_path(scratch) / f"{uuid.uuid4().hex}.tmp"
            temporary.parent.mkdir(parents=True, exist_ok=True)
            temporary.write_bytes(data)
            os.replace(temporary, target)
            return
        stream = fs.create(path, True)
        try:
            stream.write(bytearray(data))
        finally:
            stream.close()

    def delete(self, uri: str, recursive: bool = False) -> None:
        fs, path = self._path(uri)
        if fs.exists(path) and not fs.delete(path, recursive):
            raise OSError(f"could not delete {uri}")

    def parquet_rows(self, uri: str) -> int:
        """The row count a Parquet file's footer records (the driver reads the footer; no Spark job)."""
        _, path = self._path(uri)
        input_file = jvm_class("org.apache.parquet.hadoop.util.HadoopInputFile").fromPath(path, self._conf)
        reader = jvm_class("org.apache.parquet.hadoop.ParquetFileReader").open(input_file)
        try:
            return int(reader.getRecordCount())
        finally:
            reader.close()

    def head(self, uri: str, count: int) -> bytes:
        """The first ``count`` bytes of a file (fewer if it is shorter)."""
        fs, path = self._path(uri)
        stream = fs.open(path)
        try:
            data = bytearray()
            while len(data) < count:
                byte = stream.read()
                if byte < 0:
                    break
                data.append(byte)
            return bytes(data)
        finally:
            stream.close()
