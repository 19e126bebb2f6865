"""One raw-object rule, two runtimes: the same tree gives the same objects and the same tables.

The Glue side runs through the real adapter (``run_glue_job``) with a fake GlueContext whose reader applies the
read options as Glue's S3 reader does: the path's objects, recursively, minus the ``exclusions`` (Glue's glob
syntax, relative to the path); decompression chosen by the file name (``.gz``: gzip, as Hadoop's codec factory
does), and a failure to decode raised from the reader, before any row reaches our code, the way Glue's reader
fails (a JVM exception surfacing in ``toDF``/the first action).

Objects Glue cannot decode are kept out of raw/ on AWS (docs/design.md s.8); when one is there anyway, the Glue
run stops in one line before writing anything (read once, never again with other exclusions), while the local
runtime quarantines it. Empty objects (0 bytes, gzip of nothing) are ``empty`` locally.
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import zlib
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import pytest
from chispa import assert_df_equality
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from spotify_etl.config import RAW_TRANSFORMATION_CTX
from spotify_etl.runtime.glue import RawReadError, run_glue_job
from spotify_etl.runtime.local.transform import config_for_lake, run_local_transform
from spotify_etl.transform.globs import excluded
from spotify_etl.transform.registry import CURATED_TABLES, TABLE_SCHEMAS
from spotify_etl.transform.schema import QUARANTINE
from tests import builders as b
from tests.unit.runtime.test_glue import FakeDynamicFrame, _argv

WEIRD = "odd [1] {x,y} *? %41 $HOME é.json.gz"


class GlueReaderError(Exception):
    """What surfaces in Python when Glue's reader fails in the JVM (a Py4JJavaError in production)."""


class FakeGlueReader:
    """Applies ``paths``/``recurse``/``exclusions`` and the file-name codec like Glue's S3 reader; no bookmark
    state (every object is new, as on a first run)."""

    def __init__(self, spark: SparkSession, lake: Path) -> None:
        self.spark_session = spark
        self.create_dynamic_frame = self
        self.lake = lake
        self.reads: list[dict[str, Any]] = []
        self.committed = False

    def from_options(self, **kwargs: Any) -> FakeDynamicFrame:
        self.reads.append(kwargs)
        options = kwargs["connection_options"]
        exclusions = json.loads(options.get("exclusions", "[]"))
        rows = []
        for path in options["paths"]:
            root = Path(path.removeprefix("file://"))
            for directory, _dirs, files in os.walk(root):
                for name in files:
                    file = Path(directory) / name
                    relative = file.relative_to(root).as_posix()
                    if excluded(exclusions, relative):
                        continue
                    data = file.read_bytes()
                    if name.endswith(".gz"):
                        try:
                            data = gzip.decompress(data)
                        except (OSError, EOFError, zlib.error) as error:
                            raise GlueReaderError(
                                f"An error occurred while calling o93.toDF: java.io.IOException: {error}"
                            ) from error
                    rows += [(line, f"file://{file}") for line in data.decode().splitlines()]
        schema = "col0 string, source_file string"
        return FakeDynamicFrame(self.spark_session.createDataFrame(rows, schema))

    def job(self, _glue_context: Any) -> Any:
        reader = self

        class Job:
            def init(self, name: str, args: dict[str, Any]) -> None: ...

            def commit(self) -> None:
                reader.committed = True

        return Job()


def _gz(text: str) -> bytes:
    return gzip.compress(text.encode())


def _tree(raw: Path) -> None:
    folder = Path(
        unquote(urlparse(b.land(raw, b.envelope(playlist=b.playlist(id="p1", name="One")))).path)
    ).parent
    weird_env = b.envelope(playlist=b.playlist(id="p2", name="Two"))
    (folder / WEIRD).write_bytes(_gz(json.dumps(weird_env) + "\n"))
    (folder / "plain.json").write_text(json.dumps(b.envelope(playlist=b.playlist(id="p3"))) + "\n")
    (folder / "_hidden.json.gz").write_bytes(_gz(json.dumps(b.envelope(playlist=b.playlist(id="p4"))) + "\n"))
    (folder / ".tmp").mkdir()
    (folder / ".tmp" / "x.json.gz").write_bytes(b"not even gzip")
    (folder / "not-json.json.gz").write_bytes(_gz("this is not JSON\n"))


def _undecodable(raw: Path) -> Path:
    """The objects Glue's reader cannot give a line of, next to one good object."""
    folder = Path(unquote(urlparse(b.land(raw, b.envelope(playlist=b.playlist(id="p9")))).path)).parent
    (folder / "not-gzip.json.gz").write_bytes(b"hello, not gzip")
    (folder / "truncated [1].json.gz").write_bytes(_gz(json.dumps(b.envelope()) * 50)[:40])
    (folder / "zero-bytes.json.gz").write_bytes(b"")
    (folder / "gzip-of-nothing.json.gz").write_bytes(_gz(""))
    return folder


def _relative(df: DataFrame, lake: Path) -> DataFrame:
    return df.withColumn("source_file", F.regexp_replace("source_file", f"^file://{lake}", "LAKE"))


def _tables(spark: SparkSession, lake: Path) -> dict[str, DataFrame]:
    tables = {
        t: _relative(spark.read.schema(TABLE_SCHEMAS[t]).parquet(f"file://{lake}/curated/{t}"), lake)
        for t in CURATED_TABLES
    }
    tables["rejected"] = _relative(
        spark.read.schema(QUARANTINE).parquet(f"file://{lake}/quarantine/rejected"), lake
    ).drop("rejected_at", "rejected_date")
    return tables


@pytest.fixture(scope="module")
def both(spark: SparkSession, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, FakeGlueReader]:
    local_lake = tmp_path_factory.mktemp("local") / "lake"
    glue_lake = tmp_path_factory.mktemp("glue") / "lake"
    _tree(local_lake / "raw")
    shutil.copytree(local_lake / "raw", glue_lake / "raw")
    config, bookmarks = config_for_lake(local_lake)
    run_local_transform(config, spark, bookmarks_root=bookmarks)
    glue = FakeGlueReader(spark, glue_lake)
    assert run_glue_job(_argv(glue_lake), glue_context_factory=lambda: glue, job_factory=glue.job) == 0
    return local_lake, glue_lake, glue


def test_both_runtimes_quarantine_the_same_objects_for_the_same_reasons(spark, both):
    local_lake, _glue_lake, _ = both
    rejected = _tables(spark, local_lake)["rejected"]

    assert sorted((r.source_file.rsplit("/", 1)[1], r.reason) for r in rejected.collect()) == [
        ("not-json.json.gz", "not_json"),
        ("plain.json", "not_gzip"),
    ]


def test_both_runtimes_write_the_same_tables_from_the_same_tree(spark, both):
    local_lake, glue_lake, _ = both
    local, glue = _tables(spark, local_lake), _tables(spark, glue_lake)

    for table in (*CURATED_TABLES, "rejected"):
        assert_df_equality(local[table], glue[table], ignore_row_order=True, ignore_nullable=True)
    snapshots = local["playlist_snapshots"].select("playlist_id", "source_file").collect()
    assert sorted(r.playlist_id for r in snapshots) == ["p1", "p2"]
    # the odd name is read literally and recorded exactly as listed (no glob, no percent-encoding)
    assert next(r.source_file for r in snapshots if r.playlist_id == "p2").endswith("/" + WEIRD)


def test_on_glue_the_raw_prefix_is_read_once_and_the_bookmark_commits(both):
    _local, _glue_lake, glue = both

    assert len(glue.reads) == 1
    assert glue.reads[0]["transformation_ctx"] == RAW_TRANSFORMATION_CTX
    assert glue.committed


def test_locally_undecodable_and_empty_objects_are_quarantined_with_their_reason(spark, tmp_path):
    lake = tmp_path / "lake"
    _undecodable(lake / "raw")
    config, bookmarks = config_for_lake(lake)

    run_local_transform(config, spark, bookmarks_root=bookmarks)

    tables = _tables(spark, lake)
    assert sorted((r.source_file.rsplit("/", 1)[1], r.reason) for r in tables["rejected"].collect()) == [
        ("gzip-of-nothing.json.gz", "empty"),
        ("not-gzip.json.gz", "not_gzip"),
        ("truncated [1].json.gz", "not_gzip"),
        ("zero-bytes.json.gz", "empty"),
    ]
    assert [r.playlist_id for r in tables["playlist_snapshots"].collect()] == ["p9"]


def test_on_glue_a_failed_read_stops_the_run_in_one_line_before_any_write(spark, tmp_path):
    lake = tmp_path / "lake"
    _undecodable(lake / "raw")
    glue = FakeGlueReader(spark, lake)

    with pytest.raises(RawReadError) as raised:
        run_glue_job(_argv(lake), glue_context_factory=lambda: glue, job_factory=glue.job)

    message = str(raised.value)
    assert "\n" not in message
    assert message.startswith("the bookmarked read of raw/ failed (GlueReaderError: An error occurred")
    assert f"spotify-etl quarantine-raw --lake {lake.as_uri()} --since " in message
    assert len(glue.reads) == 1  # never a second read of the same transformation_ctx
    assert not glue.committed
    assert sorted(p.name for p in lake.iterdir()) == ["raw"]  # nothing written, not even staging
