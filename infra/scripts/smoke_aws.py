"""The AWS calls of ``make smoke``, one small function each: stack outputs, a workflow run to its end, a job run
to its end, an Athena query's rows, the quarantine table's rows. Polling is bounded by a deadline."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

TERMINAL_WORKFLOW = ("COMPLETED", "STOPPED", "ERROR")
TERMINAL_JOB = ("SUCCEEDED", "FAILED", "TIMEOUT", "STOPPED", "ERROR")


class SmokeError(RuntimeError):
    """The smoke cannot go on (no such stack, a deadline passed); one line."""


@dataclass(frozen=True)
class StackOutputs:
    bucket: str
    workflow: str
    job: str
    crawler: str
    database: str
    workgroup: str


def stack_outputs(cfn: Any, stack: str) -> StackOutputs:
    outputs = {
        o["OutputKey"]: o["OutputValue"] for o in cfn.describe_stacks(StackName=stack)["Stacks"][0]["Outputs"]
    }
    return StackOutputs(
        bucket=outputs["DataBucketName"],
        workflow=outputs["WorkflowName"],
        job=outputs["TransformJobName"],
        crawler=outputs["CrawlerName"],
        database=outputs["DatabaseName"],
        workgroup=outputs["AthenaWorkGroupName"],
    )


@dataclass
class Poller:
    """Calls ``probe`` every ``every`` seconds until it returns a value, for at most ``limit`` seconds."""

    every: float
    limit: float
    sleep: Callable[[float], None] = time.sleep

    def until(self, what: str, probe: Callable[[], Any]) -> Any:
        waited = 0.0
        while True:
            value = probe()
            if value is not None:
                return value
            if waited >= self.limit:
                raise SmokeError(f"{what} did not finish in {self.limit:.0f} s")
            self.sleep(self.every)
            waited += self.every


@dataclass(frozen=True)
class WorkflowResult:
    status: str
    job_state: str | None
    job_error: str
    crawler_state: str | None


def start_workflow(glue: Any, name: str, poller: Poller) -> str:
    """A new run of the workflow (waiting while another run, e.g. one the S3 events started, holds the slot)."""

    def start() -> str | None:
        try:
            return str(glue.start_workflow_run(Name=name)["RunId"])
        except glue.exceptions.ConcurrentRunsExceededException:
            return None

    return str(poller.until(f"starting workflow {name}", start))


def workflow_result(glue: Any, name: str, run_id: str, poller: Poller) -> WorkflowResult:
    def finished() -> dict[str, Any] | None:
        run = glue.get_workflow_run(Name=name, RunId=run_id, IncludeGraph=True)["Run"]
        return run if run["Status"] in TERMINAL_WORKFLOW else None

    run = poller.until(f"workflow run {run_id}", finished)
    job_runs = [
        r for n in run.get("Graph", {}).get("Nodes", []) for r in n.get("JobDetails", {}).get("JobRuns", [])
    ]
    crawls = [
        c
        for n in run.get("Graph", {}).get("Nodes", [])
        for c in n.get("CrawlerDetails", {}).get("Crawls", [])
    ]
    last_job = job_runs[-1] if job_runs else {}
    return WorkflowResult(
        status=run["Status"],
        job_state=last_job.get("JobRunState"),
        job_error=last_job.get("ErrorMessage", ""),
        crawler_state=crawls[-1]["State"] if crawls else None,
    )


def job_run(glue: Any, job: str, poller: Poller) -> str:
    """One run of the job to its end (waiting while a run the S3 events started holds ``MaxConcurrentRuns``)."""

    def start() -> str | None:
        try:
            return str(glue.start_job_run(JobName=job)["JobRunId"])
        except glue.exceptions.ConcurrentRunsExceededException:
            return None

    run_id = poller.until(f"starting job {job}", start)

    def finished() -> str | None:
        state = glue.get_job_run(JobName=job, RunId=run_id)["JobRun"]["JobRunState"]
        return str(state) if state in TERMINAL_JOB else None

    return str(poller.until(f"job run {run_id}", finished))


def athena_rows(athena: Any, out: StackOutputs, sql: str, poller: Poller) -> list[tuple[str, ...]]:
    """The rows of one query in the stack's workgroup (header row dropped), as strings."""
    query_id = athena.start_query_execution(
        QueryString=sql, WorkGroup=out.workgroup, QueryExecutionContext={"Database": out.database}
    )["QueryExecutionId"]

    def finished() -> dict[str, Any] | None:
        status = athena.get_query_execution(QueryExecutionId=query_id)["QueryExecution"]["Status"]
        return status if status["State"] in ("SUCCEEDED", "FAILED", "CANCELLED") else None

    status = poller.until(f"Athena query {query_id}", finished)
    if status["State"] != "SUCCEEDED":
        raise SmokeError(
            f"Athena query failed: {status.get('StateChangeReason', status['State'])}: {sql[:80]}"
        )
    rows = []
    for page in athena.get_paginator("get_query_results").paginate(QueryExecutionId=query_id):
        rows += [tuple(d.get("VarCharValue", "") for d in r["Data"]) for r in page["ResultSet"]["Rows"]]
    return rows[1:]


def quarantine_rows(s3: Any, bucket: str, day: str) -> list[tuple[str, str]]:
    """``(source_file, reason)`` of the quarantine table's partition ``rejected_date=day`` (read with DuckDB)."""
    import duckdb

    prefix = f"quarantine/rejected/rejected_date={day}/"
    keys = [
        o["Key"]
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        for o in page.get("Contents", [])
        if o["Key"].endswith(".parquet")
    ]
    with tempfile.TemporaryDirectory(prefix="smoke-quarantine-") as folder:
        files = []
        for n, key in enumerate(keys):
            path = Path(folder) / f"{n}.parquet"
            path.write_bytes(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
            files.append(str(path))
        if not files:
            return []
        found = duckdb.sql(f"SELECT source_file, reason FROM read_parquet({files!r})").fetchall()
    return [(str(a), str(b)) for a, b in found]
