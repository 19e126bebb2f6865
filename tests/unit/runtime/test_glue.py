"""The Glue edge, tested at the GlueContext/Job boundary with recording fakes and the real getResolvedOptions.

What must hold on Glue: every bookmarked read carries the stable transformation_ctx, ``job.init`` comes
first, ``job.commit()`` comes only after every write, and nothing is written after it.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from awsglue.utils import GlueArgumentError
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql.types import StructType

from spotify_etl.config import JOB_ARGS, RAW_TRANSFORMATION_CTX
from spotify_etl.runtime.glue import abbreviated_args, config_from_args, resolve_args, run_glue_job
from tests import builders as b

pytestmark = pytest.mark.slow  # a module of slower tests: scheduled first (tests/conftest.py)


def _tree(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


class FakeDynamicFrame:
    def __init__(self, df: DataFrame) -> None:
        self._df = df

    def toDF(self) -> DataFrame:
        return self._df


class FakeGlue:
    """Records every call at the boundary; serves lines the way Glue's CSV reader would (col0 + filename)."""

    def __init__(self, spark: SparkSession, lines: list[tuple[str, str]], lake: Path) -> None:
        self.spark_session = spark
        self.calls: list[tuple[str, Any]] = []
        self._lines = lines
        self._lake = lake
        self.create_dynamic_frame = self

    def from_options(self, **kwargs: Any) -> FakeDynamicFrame:
        self.calls.append(("read", kwargs))
        if not self._lines:  # what Glue returns when the bookmark has nothing new: no rows, no columns
            return FakeDynamicFrame(self.spark_session.createDataFrame([], StructType([])))
        df = self.spark_session.createDataFrame(
            [(v, f) for f, v in self._lines], "col0 string, source_file string"
        )
        return FakeDynamicFrame(df)

    def job(self, _glue_context: Any) -> FakeJob:
        return FakeJob(self)


class FakeJob:
    def __init__(self, glue: FakeGlue) -> None:
        self.glue = glue

    def init(self, name: str, args: dict[str, Any]) -> None:
        self.glue.calls.append(("init", name))

    def commit(self) -> None:
        self.glue.calls.append(("commit", _tree(self.glue._lake)))


def _argv(lake: Path, *extra: str) -> list[str]:
    return [
        "transform_playlists.py",
        "--JOB_NAME",
        "spotify-transform",
        "--raw_path",
        (lake / "raw").as_uri(),
        "--curated_path",
        (lake / "curated").as_uri(),
        "--quarantine_path",
        (lake / "quarantine").as_uri(),
        "--staging_path",
        (lake / "_staging").as_uri(),
        "--job-bookmark-option",
        "job-bookmark-enable",
        *extra,
    ]


def test_glue_job_reads_with_ctx_commits_last_and_writes_nothing_after(
    spark: SparkSession, tmp_path: Path
) -> None:
    env = b.envelope(playlist=b.playlist(id="p1"))
    lines = [
        ("s3://data/raw/playlists/a.json.gz", json.dumps(env)),
        ("s3://data/raw/playlists/bad.json.gz", "[]"),
    ]
    glue = FakeGlue(spark, lines, tmp_path)

    assert run_glue_job(_argv(tmp_path), glue_context_factory=lambda: glue, job_factory=glue.job) == 0

    kinds = [kind for kind, _ in glue.calls]
    assert kinds == ["init", "read", "commit"]
    read = glue.calls[1][1]
    assert read["transformation_ctx"] == RAW_TRANSFORMATION_CTX
    assert read["connection_options"]["paths"] == [(tmp_path / "raw").as_uri() + "/playlists/"]
    assert read["connection_options"]["groupFiles"] == "inPartition"
    assert read["format_options"]["attachFilename"] == "source_file"
    files_at_commit = glue.calls[2][1]
    assert files_at_commit == _tree(tmp_path), "something was written after job.commit()"
    tables = {path.split("/")[1] for path in files_at_commit if path.startswith("curated/")}
    # the six tables, the partitions' manifests (docs/design.md s.3.1) and the run's write record
    # (spotify_etl/transform/record.py)
    assert tables == {
        "playlist_snapshots",
        "playlist_items",
        "tracks",
        "albums",
        "artists",
        "track_artists",
        "symlinks",
        "_records",
    }
    assert any(path.startswith("quarantine/rejected/rejected_date=") for path in files_at_commit)
    assert not any(path.startswith("_staging/") and path.endswith(".parquet") for path in files_at_commit)


def test_a_failing_write_never_commits(spark: SparkSession, tmp_path: Path) -> None:
    env = b.envelope(playlist=b.playlist(id="p1"))
    glue = FakeGlue(spark, [("s3://data/raw/playlists/a.json.gz", json.dumps(env))], tmp_path)
    (tmp_path / "curated").write_text("a file where the curated folder should be")

    with pytest.raises(Exception):  # noqa: B017 - any write failure must propagate
        run_glue_job(_argv(tmp_path), glue_context_factory=lambda: glue, job_factory=glue.job)
    assert "commit" not in [kind for kind, _ in glue.calls]


def test_nothing_new_on_glue_writes_nothing_and_commits(spark: SparkSession, tmp_path: Path, capsys) -> None:
    glue = FakeGlue(spark, [], tmp_path)
    assert run_glue_job(_argv(tmp_path), glue_context_factory=lambda: glue, job_factory=glue.job) == 0
    assert [kind for kind, _ in glue.calls] == ["init", "read", "commit"]
    assert glue.calls[2][1] == []
    assert "objects read: 0 (valid 0; rejected: none)" in capsys.readouterr().out


def test_real_get_resolved_options_requires_every_job_arg(tmp_path: Path) -> None:
    argv = _argv(tmp_path)
    args = resolve_args(argv)
    config = config_from_args(args)
    assert (config.job_name, config.bookmark_option) == ("spotify-transform", "job-bookmark-enable")
    assert config.staging_path == (tmp_path / "_staging").as_uri()
    for name in JOB_ARGS:
        index = argv.index(f"--{name}")
        with pytest.raises(GlueArgumentError, match=f"--{name}"):
            resolve_args(argv[:index] + argv[index + 2 :])


def test_optional_args_are_read_only_when_present(tmp_path: Path) -> None:
    config = config_from_args(
        resolve_args(_argv(tmp_path, "--target_file_mb", "64", "--shuffle_partitions", "8"))
    )
    assert (config.target_file_mb, config.shuffle_partitions) == (64, 8)
    assert config_from_args(resolve_args(_argv(tmp_path))).target_file_mb == 128


@pytest.mark.glue
def test_real_glue_context_path(spark: SparkSession, tmp_path: Path) -> None:
    """The real GlueContext/Job (Glue image only; it supports no bookmarks, hence disable)."""
    try:
        from awsglue.context import GlueContext
        from awsglue.job import Job

        glue_context = GlueContext(spark.sparkContext)
    except Exception as error:  # the PyPI awsglue package has the Python API but not Glue's jars
        pytest.skip(f"AWS Glue's jars are not on this machine ({type(error).__name__}); run 'make test-glue'")
    raw = tmp_path / "raw"
    b.land(raw, b.envelope(playlist=b.playlist(id="p1")))
    argv = _argv(tmp_path)
    argv[argv.index("job-bookmark-enable")] = "job-bookmark-disable"
    assert run_glue_job(argv, glue_context_factory=lambda: glue_context, job_factory=Job) == 0
    assert (tmp_path / "curated" / "playlist_items").is_dir()


@pytest.mark.parametrize(
    ("given", "refused"),
    [
        (["--raw", "s3://data/raw"], "--raw (write --raw_path)"),  # a required argument, abbreviated
        (["--target_file=64"], "--target_file (write --target_file_mb)"),  # an optional one, with '='
        (["--job-bookmark", "job-bookmark-disable"], "--job-bookmark (write --job-bookmark-option)"),
    ],
)
def test_abbreviated_argument_names_are_refused_on_every_glue_version(tmp_path: Path, given, refused) -> None:
    """Glue 6.0's getResolvedOptions refuses abbreviations; the job refuses them on 5.0 too (same rule)."""
    argv = _argv(tmp_path)
    if given[0].startswith("--raw"):
        index = argv.index("--raw_path")
        argv = argv[:index] + argv[index + 2 :]
    if given[0].startswith("--job-bookmark"):
        index = argv.index("--job-bookmark-option")
        argv = argv[:index] + argv[index + 2 :]

    with pytest.raises(GlueArgumentError, match=re.escape(refused)):
        resolve_args([*argv, *given])


def test_the_installed_awsglue_decides_abbreviations_as_its_glue_version_does(tmp_path: Path) -> None:
    """Why the job checks itself: awsglue 5.x resolves ``--raw`` to ``--raw_path``; Glue 6.0's awsglue
    (6.0.0, ``allow_abbrev=False``) does not take it, and neither does ``resolve_args`` on either version."""
    from importlib.metadata import version

    from awsglue.utils import getResolvedOptions

    argv = _argv(tmp_path)
    argv[argv.index("--raw_path")] = "--raw"

    if int(version("AWSGlueDataplanePython").split(".")[0]) >= 6:
        with pytest.raises(GlueArgumentError, match="required: --raw_path"):
            getResolvedOptions(argv, list(JOB_ARGS))
    else:
        assert getResolvedOptions(argv, list(JOB_ARGS))["raw_path"] == (tmp_path / "raw").as_uri()
    with pytest.raises(GlueArgumentError):
        resolve_args(argv)


def test_full_names_other_glue_arguments_and_values_are_not_taken_for_abbreviations(tmp_path: Path) -> None:
    argv = _argv(
        tmp_path, "--TempDir", "s3://t/", "--JOB_ID", "j_1", "--target_file_mb=64", "--enable-metrics", "true"
    )

    assert abbreviated_args(argv) == []
    assert config_from_args(resolve_args(argv)).target_file_mb == 64


def test_metrics_that_cannot_be_published_fail_the_run_after_its_commit(
    spark: SparkSession, tmp_path: Path
) -> None:
    """The data landed and the bookmark moved; the run then ends FAILED in one line, so the job-state alarm says
    so (a lost TransformSucceeded would otherwise page as a stale pipeline a day later)."""
    import boto3
    from botocore.stub import Stubber

    from spotify_etl.runtime.run_metrics import MetricsNotPublished

    glue = FakeGlue(spark, [("s3://data/raw/playlists/a.json.gz", json.dumps(b.envelope()))], tmp_path)
    cloudwatch = boto3.client(
        "cloudwatch", region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    argv = _argv(tmp_path, "--metrics_namespace", "stack/transform", "--metrics_region", "eu-west-1")

    with (
        Stubber(cloudwatch) as stub,
        pytest.raises(MetricsNotPublished, match="stack/transform in eu-west-1"),
    ):
        stub.add_client_error("put_metric_data", "AccessDenied", "no")
        run_glue_job(argv, glue_context_factory=lambda: glue, job_factory=glue.job, metrics_client=cloudwatch)
    assert [kind for kind, _ in glue.calls] == ["init", "read", "commit"]


@pytest.mark.usefixtures("quality_gate_on")
def test_a_table_level_quality_failure_fails_the_glue_run_before_the_commit_and_alarms(
    spark: SparkSession, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The gate on Glue: the job fails with the rule's line, nothing is written to the tables, the bookmark is not
    committed, and DataQualityErrorRulesFailed reaches CloudWatch (moto) for the alarm."""
    import boto3
    from moto import mock_aws

    from spotify_etl.runtime.run_metrics import QUALITY_ERRORS_METRIC
    from spotify_etl.transform import merge
    from spotify_etl.transform.quality_gate import QualityGateFailed
    from tests.unit.runtime.test_run_metrics import metric_sum

    original = merge.apply_merge_rule  # a merge defect: every tracks row twice

    def defective(table: str, rows_df: DataFrame) -> DataFrame:
        merged_df = original(table, rows_df)
        return merged_df.unionByName(merged_df) if table == "tracks" else merged_df

    monkeypatch.setattr(merge, "apply_merge_rule", defective)
    playlist = b.playlist(id=b.spotify_id("playlist:glue"), snapshot_id="s1")
    envelope = b.envelope(playlist=playlist, items=[b.playlist_item(b.track(id=b.spotify_id("track:g")))])
    glue = FakeGlue(spark, [("s3://data/raw/playlists/a.json.gz", json.dumps(envelope))], tmp_path)
    argv = _argv(tmp_path, "--metrics_namespace", "stack/transform", "--metrics_region", "eu-west-1")

    with mock_aws():
        cloudwatch = boto3.client("cloudwatch", region_name="eu-west-1")
        with pytest.raises(QualityGateFailed, match=r"quality/tracks\.dqdl:\d+: IsPrimaryKey"):
            run_glue_job(
                argv, glue_context_factory=lambda: glue, job_factory=glue.job, metrics_client=cloudwatch
            )
        failed = metric_sum(cloudwatch, "stack/transform", QUALITY_ERRORS_METRIC, "spotify-transform")

    assert failed == 1.0  # the alarm's threshold is 1
    assert [kind for kind, _ in glue.calls] == ["init", "read"]  # never committed
    assert not [p for p in _tree(tmp_path) if p.startswith(("curated/tracks", "quarantine/"))]


def test_the_landing_option_is_a_glue_argument(tmp_path: Path) -> None:
    argv = _argv(tmp_path, "--land_despite_quality_errors", "true")

    assert config_from_args(resolve_args(argv)).land_despite_quality_errors is True
    assert config_from_args(resolve_args(_argv(tmp_path))).land_despite_quality_errors is False


def test_a_glue_batch_is_tuned_by_the_bytes_of_text_it_read(
    spark: SparkSession, tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Glue's reader gives no object sizes: the run judges the UTF-8 bytes of the lines it read
    (``batch_tuning.judged_bytes``). At the threshold the batch is small (the small-batch settings, a shuffle task
    per core, the gate and the writes in one partition); one byte over it, large (the session's own settings, twice
    the cores, Spark's plans). Both land the same rows."""
    from spotify_etl.transform import batch_tuning
    from spotify_etl.transform.quality_gate import RunGate
    from spotify_etl.transform.registry import CURATED_TABLES
    from spotify_etl.transform.writer import PartitionWriter
    from tests.unit.transform.test_job import _tables

    # a name of more bytes than characters
    playlist = b.playlist(id=b.spotify_id("playlist:tuned"), name="Café ☕ für alle")
    envelope = b.envelope(playlist=playlist, items=[b.playlist_item(b.track(id=b.spotify_id("track:t")))])
    lines = [
        ("s3://data/raw/playlists/a.json.gz", json.dumps(envelope, ensure_ascii=False)),
        ("s3://data/raw/playlists/bad.json.gz", "[]"),  # quarantined: the run judges its bytes too
    ]
    text = "".join(value for _, value in lines)
    started_with = {key: spark.sparkContext.getConf().get(key) for key in batch_tuning.SMALL_BATCH_SETTINGS}
    tuned: list[tuple[bool, dict[str, str | None], str]] = []
    writes: list[bool] = []

    def recorded(*args: Any, **kwargs: Any) -> RunGate:
        gate = RunGate(*args, **kwargs)
        settings = {key: spark.conf.get(key, None) for key in batch_tuning.SMALL_BATCH_SETTINGS}
        tuned.append((gate.one_partition, settings, spark.conf.get(batch_tuning.SHUFFLE_PARTITIONS)))
        return gate

    def writer(*args: Any, **kwargs: Any) -> PartitionWriter:
        made = PartitionWriter(*args, **kwargs)
        writes.append(made.one_partition)
        return made

    monkeypatch.setattr("spotify_etl.transform.job.RunGate", recorded)
    monkeypatch.setattr("spotify_etl.transform.job.PartitionWriter", writer)
    cores = spark.sparkContext.defaultParallelism
    tables = []
    for threshold in (len(text.encode()), len(text.encode()) - 1):
        monkeypatch.setattr(batch_tuning, "SMALL_BATCH_BYTES", threshold)
        monkeypatch.setattr(batch_tuning, "ONE_PARTITION_GATE_BYTES", threshold)
        lake = tmp_path_factory.mktemp("lake")
        glue = FakeGlue(spark, lines, lake)
        assert run_glue_job(_argv(lake), glue_context_factory=lambda g=glue: g, job_factory=glue.job) == 0
        tables.append(_tables(spark, lake))

    assert len(text.encode()) > len(text)
    assert tuned == [
        (True, batch_tuning.SMALL_BATCH_SETTINGS, str(cores)),
        (False, started_with, str(2 * cores)),
    ]
    assert writes == [True, False]
    assert tables[0]["tracks"] and tables[0]["rejected"]  # the run landed rows and quarantined the bad object
    for table in CURATED_TABLES:
        assert tables[0][table] == tables[1][table], table
    # the quarantine: the same objects with the same reasons (rejected_at is the run's own time)
    assert [r[:3] for r in tables[0]["rejected"]] == [r[:3] for r in tables[1]["rejected"]]
