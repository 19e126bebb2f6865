"""``make smoke``: the plan without credentials, and the whole sequence of AWS calls of a passing smoke against
botocore's Stubber (each client answers in the order AWS would be asked; the call parameters that decide what
is landed, moved or deleted are checked)."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path
from typing import Any

import boto3
import duckdb
from botocore.response import StreamingBody
from botocore.stub import ANY, Stubber

from infra.scripts.cfn import REPO_ROOT
from infra.scripts.smoke import Smoke
from infra.scripts.smoke_aws import Poller
from infra.scripts.smoke_objects import BIG_PLAYLIST_ITEMS, SMOKE_DAY, crafted_objects
from spotify_etl.ops.raw_quarantine import probe
from spotify_etl.transform.registry import CURATED_TABLES

BUCKET = "lake-data"
OUTPUTS = {
    "DataBucketName": BUCKET,
    "WorkflowName": "lake-pipeline",
    "TransformJobName": "lake-transform-playlists",
    "CrawlerName": "lake-curated",
    "DatabaseName": "spotify_lake",
    "AthenaWorkGroupName": "lake",
}


def test_dry_run_prints_the_plan_with_no_credentials_on_a_bare_environment(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "AWS_CONFIG_FILE": "/nonexistent"}
    result = subprocess.run(
        [sys.executable, "-m", "infra.scripts.smoke", "--stack", "lake", "--dry-run"],
        capture_output=True, text=True, env={**env, "PYTHONPATH": str(REPO_ROOT)}, cwd=tmp_path, check=False,
    )  # fmt: skip

    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == " 1. read the outputs of stack lake (cloudformation describe-stacks)"
    assert lines[9].startswith("10. clean up:")
    assert [line.split()[0] for line in lines[10:]] == [c.case for c in crafted_objects("X")]


def test_the_crafted_objects_are_the_cases_of_the_issue():
    objects = {c.case: c for c in crafted_objects("abc123")}

    assert objects["big"].items == BIG_PLAYLIST_ITEMS == 10_000
    assert all(ch in objects["odd-name"].key for ch in "[]{}$% ")
    assert probe(objects["zero-bytes"].body) == ("empty", "the object has 0 bytes")
    assert probe(objects["truncated-gzip"].body)[0] == "not_gzip"
    assert probe(objects["not-json"].body) is None  # readable by Glue: the transform quarantines it
    assert all(probe(c.body) is None for c in objects.values() if c.playlist_id)
    assert all(f"/ingest_date={SMOKE_DAY}/" in c.key for c in objects.values())
    ids = [c.playlist_id or "" for c in objects.values() if c.playlist_id]
    assert all(len(i) == 22 and i.isalnum() for i in ids) and len(set(ids)) == 3  # like Spotify's ids


def _body(data: bytes) -> StreamingBody:
    return StreamingBody(io.BytesIO(data), len(data))


def _parquet(tmp_path: Path, rows: list[tuple[str, str]]) -> bytes:
    path = tmp_path / "q.parquet"
    values = ", ".join(f"('{a}', '{b}')" for a, b in rows)
    duckdb.sql(f"COPY (SELECT * FROM (VALUES {values}) t(source_file, reason)) TO '{path}' (FORMAT parquet)")
    return path.read_bytes()


class Session:
    def __init__(self) -> None:
        self.clients = {
            n: boto3.client(n, region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="x")
            for n in ("cloudformation", "s3", "glue", "athena")
        }
        self.stubs = {n: Stubber(c) for n, c in self.clients.items()}

    def client(self, name: str, **_: Any) -> Any:
        return self.clients[name]


def _athena_answers(stub: Stubber, rows: list[list[str]]) -> None:
    stub.add_response("start_query_execution", {"QueryExecutionId": "q"}, {
        "QueryString": ANY, "WorkGroup": "lake", "QueryExecutionContext": {"Database": "spotify_lake"}})  # fmt: skip
    stub.add_response("get_query_execution", {"QueryExecution": {"Status": {"State": "SUCCEEDED"}}})
    stub.add_response(
        "get_query_results",
        {"ResultSet": {"Rows": [{"Data": [{"VarCharValue": v} for v in r]} for r in [["h"], *rows]]}},
    )


def _workflow(stub: Stubber, job: str, error: str, crawler: str | None) -> None:
    stub.add_response("start_workflow_run", {"RunId": "wr"}, {"Name": "lake-pipeline"})
    nodes = [{"Type": "JOB", "JobDetails": {"JobRuns": [{"JobRunState": job, "ErrorMessage": error}]}}]
    if crawler:
        nodes.append({"Type": "CRAWLER", "CrawlerDetails": {"Crawls": [{"State": crawler}]}})
    stub.add_response("get_workflow_run", {"Run": {"Status": "COMPLETED", "Graph": {"Nodes": nodes}}})


def test_a_passing_smoke_makes_exactly_these_calls_and_cleans_up_what_it_landed(tmp_path):
    session = Session()
    objects = crafted_objects("t1")
    s3, glue, athena = session.stubs["s3"], session.stubs["glue"], session.stubs["athena"]
    session.stubs["cloudformation"].add_response(
        "describe_stacks",
        {"Stacks": [{"StackName": "lake", "StackStatus": "UPDATE_COMPLETE", "CreationTime": "2026-12-01T00:00:00Z",
                     "Outputs": [{"OutputKey": k, "OutputValue": v} for k, v in OUTPUTS.items()]}]},
    )  # fmt: skip
    for n, crafted in enumerate(objects):
        s3.add_response(
            "put_object", {"VersionId": f"v{n}"}, {"Bucket": BUCKET, "Key": crafted.key, "Body": crafted.body}
        )
    _workflow(
        glue,
        "FAILED",
        "the bookmarked read of raw/ failed (...); ... spotify-etl quarantine-raw --lake ...",
        None,
    )
    unreadable = [c for c in objects if c.glue_unreadable]
    for crafted in unreadable:
        moved = crafted.key.replace("raw/", "quarantine/objects/", 1)
        s3.add_response("copy_object", {}, {"Bucket": BUCKET, "Key": moved, "CopySource": {"Bucket": BUCKET, "Key": crafted.key},
                                            "Metadata": ANY, "MetadataDirective": "REPLACE"})  # fmt: skip
        s3.add_response("delete_object", {}, {"Bucket": BUCKET, "Key": crafted.key})
        s3.add_response(
            "head_object", {"Metadata": {"reason": crafted.reason}}, {"Bucket": BUCKET, "Key": moved}
        )
    _workflow(glue, "SUCCEEDED", "", "SUCCEEDED")
    _athena_answers(athena, [[c.playlist_id, str(c.items)] for c in objects if c.playlist_id])
    for _ in CURATED_TABLES:
        _athena_answers(athena, [["0"]])
    not_json = next(c for c in objects if c.case == "not-json")
    s3.add_response(
        "list_objects_v2", {"Contents": [{"Key": "quarantine/rejected/rejected_date=x/p.parquet"}]}
    )
    s3.add_response(
        "get_object", {"Body": _body(_parquet(tmp_path, [(f"s3://{BUCKET}/{not_json.key}", "not_json")]))}
    )
    for table in CURATED_TABLES:
        glue.add_response("get_partition", {"Partition": {"Values": [SMOKE_DAY]}},
                          {"DatabaseName": "spotify_lake", "TableName": table, "PartitionValues": [SMOKE_DAY]})  # fmt: skip
    files = {
        t: [{"Key": f"curated/{t}/snapshot_date={SMOKE_DAY}/part-1.parquet", "ETag": "e1"}]
        for t in CURATED_TABLES
    }
    for _ in range(2):  # before and after the bookmark's job run
        if _ == 1:
            glue.add_response("start_job_run", {"JobRunId": "jr"}, {"JobName": "lake-transform-playlists"})
            glue.add_response("get_job_run", {"JobRun": {"JobRunState": "SUCCEEDED"}})
        for table in CURATED_TABLES:
            s3.add_response("list_objects_v2", {"Contents": files[table]})
    for table in CURATED_TABLES:  # cleanup: the smoke partitions' files
        s3.add_response("list_objects_v2", {"Contents": files[table]})
    written = [c.key.replace("raw/", "quarantine/objects/", 1) for c in unreadable] + [
        f[0]["Key"] for f in files.values()
    ]
    for key in written:
        s3.add_response(
            "list_object_versions",
            {"Versions": [{"Key": key, "VersionId": "w"}]},
            {"Bucket": BUCKET, "Prefix": key},
        )
        s3.add_response("delete_object", {}, {"Bucket": BUCKET, "Key": key, "VersionId": "w"})
    for n, crafted in enumerate(objects):
        s3.add_response("delete_object", {}, {"Bucket": BUCKET, "Key": crafted.key, "VersionId": f"v{n}"})
    for table in CURATED_TABLES:
        glue.add_response("batch_delete_partition", {}, {"DatabaseName": "spotify_lake", "TableName": table,
                                                          "PartitionsToDelete": [{"Values": [SMOKE_DAY]}]})  # fmt: skip
    said: list[str] = []
    for stub in session.stubs.values():
        stub.activate()

    passed = Smoke(session, "lake", "t1", Poller(every=0, limit=0), say=said.append).run()

    for stub in session.stubs.values():
        stub.assert_no_pending_responses()
    assert passed, said
    assert [line.split(":")[0] for line in said if line.startswith(("PASS", "FAIL"))] == [
        "PASS land",
        "PASS glue read of undecodable objects stops the run in one line",
        "PASS zero-bytes moved to the quarantine",
        "PASS truncated-gzip moved to the quarantine",
        "PASS second run",
        "PASS rows of the good objects",
        *(f"PASS no duplicate keys in {t}" for t in CURATED_TABLES),
        "PASS not-json quarantined as not_json",
        f"PASS crawler added snapshot_date={SMOKE_DAY}",
        "PASS bookmark moved",
    ]


def test_a_glue_read_that_skips_an_undecodable_object_fails_the_smoke():
    session = Session()
    glue = session.stubs["glue"]
    _workflow(glue, "SUCCEEDED", "", "SUCCEEDED")
    glue.activate()
    said: list[str] = []
    smoke = Smoke(session, "lake", "t1", Poller(every=0, limit=0), say=said.append)

    from infra.scripts.smoke_aws import StackOutputs

    smoke.first_run_refuses(StackOutputs(BUCKET, "lake-pipeline", "j", "c", "spotify_lake", "lake"))

    assert said == ["FAIL glue read of undecodable objects stops the run in one line: job SUCCEEDED: "]


def test_credentials_the_bucket_refuses_for_raw_fail_the_landing_in_one_line_and_nothing_runs():
    session = Session()
    session.stubs["cloudformation"].add_response(
        "describe_stacks",
        {"Stacks": [{"StackName": "lake", "StackStatus": "UPDATE_COMPLETE", "CreationTime": "2026-12-01T00:00:00Z",
                     "Outputs": [{"OutputKey": k, "OutputValue": v} for k, v in OUTPUTS.items()]}]},
    )  # fmt: skip
    session.stubs["s3"].add_client_error("put_object", "AccessDenied", "Access Denied", 403)
    for _ in CURATED_TABLES:
        session.stubs["s3"].add_response("list_objects_v2", {})
        session.stubs["glue"].add_response("batch_delete_partition", {})
    for stub in session.stubs.values():
        stub.activate()
    said: list[str] = []

    assert not Smoke(session, "lake", "t1", Poller(every=0, limit=0), say=said.append).run()

    for stub in session.stubs.values():
        stub.assert_no_pending_responses()  # no workflow was started, nothing else was deleted
    assert said[0] == (
        "FAIL land: the bucket refuses raw/ writes from these credentials: deploy with "
        "RawWriterPrincipalArns=<their role ARN> (docs/deploy.md)"
    )


def test_a_run_the_s3_events_started_is_waited_for_and_a_deadline_is_one_line():
    import pytest

    from infra.scripts.smoke_aws import SmokeError, job_run, start_workflow

    session = Session()
    glue = session.stubs["glue"]
    glue.add_client_error("start_workflow_run", "ConcurrentRunsExceededException", "a run is in progress")
    glue.add_response("start_workflow_run", {"RunId": "wr-2"}, {"Name": "lake-pipeline"})
    glue.add_client_error("start_job_run", "ConcurrentRunsExceededException", "a run is in progress")
    glue.add_client_error("start_job_run", "ConcurrentRunsExceededException", "a run is in progress")
    glue.activate()
    naps: list[float] = []

    assert (
        start_workflow(
            session.clients["glue"], "lake-pipeline", Poller(every=20, limit=60, sleep=naps.append)
        )
        == "wr-2"
    )
    with pytest.raises(SmokeError, match=r"^starting job lake-transform-playlists did not finish in 20 s$"):
        job_run(
            session.clients["glue"], "lake-transform-playlists", Poller(every=20, limit=20, sleep=naps.append)
        )
    assert naps == [20, 20]
    glue.assert_no_pending_responses()
