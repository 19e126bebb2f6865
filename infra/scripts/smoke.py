"""``make smoke STACK=name [DRY_RUN=1]``: prove the Glue path on the deployed stack, with objects made to break it.

Against a deployed stack (about $1 and under 20 minutes: two workflow runs, one job run, a few Athena queries) it:

1. reads the stack's outputs;
2. lands :func:`~infra.scripts.smoke_objects.crafted_objects` in the data bucket (a normal playlist, a 10,000-item
   playlist as one JSON line, a name with ``[ ] { } $ %`` and spaces, not-JSON gzip, a 0-byte object, a
   truncated gzip), all dated 2009-01-01 so that their rows sit in partitions of their own; the caller must be
   allowed to write raw/ (``RawWriterPrincipalArns``, docs/deploy.md);
3. runs the workflow: Glue's reader cannot decode the 0-byte and truncated objects, so the run must stop with the
   one-line message naming ``spotify-etl quarantine-raw`` (a run that succeeds means Glue skipped an undecodable
   object silently: FAIL);
4. moves those two with ``quarantine-raw``'s code, then runs the workflow again: job and crawler must succeed;
5. checks through Athena and S3: the good objects' rows, not-JSON quarantined as ``not_json``, the moved objects
   with their reasons, no duplicate key in any table, the crawler's partitions, and the bookmark (one more job run
   rewrites no file of the smoke partitions);
6. removes what it landed and what the runs wrote from it (raw versions, moved objects, smoke partitions' files
   and catalog partitions). The smoke's quarantine rows stay: they are a record, and the table is shared.

Prints PASS/FAIL per check; exit 0 only if all pass, 1 otherwise, 2 when it cannot start (no stack, no
credentials). ``--dry-run`` prints the plan and needs no credentials.
"""

from __future__ import annotations

import argparse
import sys
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from infra.scripts.smoke_aws import (
    Poller,
    SmokeError,
    StackOutputs,
    athena_rows,
    job_run,
    quarantine_rows,
    stack_outputs,
    start_workflow,
    workflow_result,
)
from infra.scripts.smoke_objects import SMOKE_DAY, Crafted, crafted_objects
from spotify_etl.transform.registry import CURATED_TABLES, TABLE_KEYS

PLAN = (
    "read the outputs of stack {stack} (cloudformation describe-stacks)",
    "land {count} crafted raw objects under s3://<data>/raw/playlists/ingest_date="
    + SMOKE_DAY
    + "/ (s3 put-object)",
    "run the workflow (glue start-workflow-run, get-workflow-run): the job must stop in one line naming "
    "spotify-etl quarantine-raw",
    "move the 0-byte and truncated objects to quarantine/objects/ (s3 copy-object, delete-object)",
    "run the workflow again: the job and the crawler must succeed",
    "check through Athena: the good objects' rows; no duplicate key in any of the {tables} tables",
    "check the quarantine: not-JSON as not_json (quarantine/rejected/), the moved objects with their reasons",
    "check the crawler added the " + SMOKE_DAY + " partition of every table (glue get-partition)",
    "check the bookmark: one more job run (glue start-job-run) rewrites no file of the smoke partitions",
    "clean up: delete the landed raw versions, the moved objects, the smoke partitions' files and catalog entries",
)


@dataclass
class Smoke:
    """One smoke run against one stack; ``results`` holds ``(check, passed, detail)``."""

    session: Any
    stack: str
    tag: str
    poller: Poller
    say: Callable[[str], None] = print
    results: list[tuple[str, bool, str]] = field(default_factory=list)
    landed: list[tuple[Crafted, str]] = field(default_factory=list)  # (object, version id)

    def __post_init__(self) -> None:
        self.s3, self.glue = self.session.client("s3"), self.session.client("glue")
        self.athena = self.session.client("athena")
        self.objects = crafted_objects(self.tag)

    def check(self, name: str, passed: bool, detail: str = "") -> bool:
        self.results.append((name, passed, detail))
        self.say(f"{'PASS' if passed else 'FAIL'} {name}" + (f": {detail}" if detail else ""))
        return passed

    def land(self, out: StackOutputs) -> bool:
        for crafted in self.objects:
            try:
                response = self.s3.put_object(Bucket=out.bucket, Key=crafted.key, Body=crafted.body)
            except self.s3.exceptions.ClientError as error:
                if error.response.get("Error", {}).get("Code") != "AccessDenied":
                    raise
                return self.check("land", False, "the bucket refuses raw/ writes from these credentials: deploy "
                                  "with RawWriterPrincipalArns=<their role ARN> (docs/deploy.md)")  # fmt: skip
            self.landed.append((crafted, response.get("VersionId", "null")))
        return self.check("land", True, f"{len(self.landed)} objects in s3://{out.bucket}/raw/")

    def first_run_refuses(self, out: StackOutputs) -> None:
        result = workflow_result(
            self.glue, out.workflow, start_workflow(self.glue, out.workflow, self.poller), self.poller
        )
        self.check(
            "glue read of undecodable objects stops the run in one line",
            result.job_state == "FAILED"
            and "quarantine-raw" in result.job_error
            and "\n" not in result.job_error,
            f"job {result.job_state}: {result.job_error[:300]}",
        )

    def move_unreadable(self, out: StackOutputs) -> None:
        from spotify_etl.ops.raw_quarantine import S3Lake, Verdict, probe

        lake = S3Lake(f"s3://{out.bucket}", self.s3)
        for crafted in (c for c in self.objects if c.glue_unreadable):
            reason, detail = probe(crafted.body) or ("", "")
            moved = lake.move(Verdict(lake.uri(crafted.key), reason, detail))
            head = self.s3.head_object(Bucket=out.bucket, Key=lake.key(moved))
            self.check(f"{crafted.case} moved to the quarantine", head["Metadata"].get("reason") == crafted.reason,
                       f"{moved} reason={head['Metadata'].get('reason')}")  # fmt: skip

    def second_run_lands(self, out: StackOutputs) -> None:
        result = workflow_result(
            self.glue, out.workflow, start_workflow(self.glue, out.workflow, self.poller), self.poller
        )
        self.check("second run: job and crawler succeed", (result.job_state, result.crawler_state) == ("SUCCEEDED", "SUCCEEDED"),
                   f"job {result.job_state} {result.job_error[:200]}; crawler {result.crawler_state}")  # fmt: skip

    def tables_hold_the_good_objects(self, out: StackOutputs) -> None:
        expected = sorted((c.playlist_id or "", str(c.items)) for c in self.objects if c.playlist_id)
        ids = ", ".join(f"'{pid}'" for pid, _ in expected)
        rows = athena_rows(self.athena, out, "SELECT playlist_id, CAST(count(*) AS varchar) FROM playlist_items "
                           f"WHERE snapshot_date = '{SMOKE_DAY}' AND playlist_id IN ({ids}) GROUP BY 1", self.poller)  # fmt: skip
        self.check(
            "rows of the good objects", sorted(rows) == expected, f"{sorted(rows)} (expected {expected})"
        )

        for table in CURATED_TABLES:
            keys = ", ".join(TABLE_KEYS[table])
            sql = f"SELECT CAST(count(*) AS varchar) FROM (SELECT {keys} FROM {table} GROUP BY {keys} HAVING count(*) > 1)"
            duplicates = athena_rows(self.athena, out, sql, self.poller)
            self.check(
                f"no duplicate keys in {table}",
                duplicates == [("0",)],
                f"{duplicates[0][0] if duplicates else '?'} duplicated keys",
            )

    def quarantine_holds_the_bad_objects(self, out: StackOutputs) -> None:
        today = datetime.now(UTC).date().isoformat()
        found = dict(quarantine_rows(self.s3, out.bucket, today))
        for crafted in (c for c in self.objects if c.reason and not c.glue_unreadable):
            uri = f"s3://{out.bucket}/{crafted.key}"
            self.check(
                f"{crafted.case} quarantined as {crafted.reason}",
                found.get(uri) == crafted.reason,
                f"found {found.get(uri)}",
            )

    def crawler_added_partitions(self, out: StackOutputs) -> None:
        missing = []
        for table in CURATED_TABLES:
            try:
                self.glue.get_partition(
                    DatabaseName=out.database, TableName=table, PartitionValues=[SMOKE_DAY]
                )
            except self.glue.exceptions.EntityNotFoundException:
                missing.append(table)
        self.check(
            f"crawler added snapshot_date={SMOKE_DAY}",
            not missing,
            f"missing in {missing}" if missing else "all six tables",
        )

    def smoke_files(self, out: StackOutputs) -> dict[str, str]:
        files = {}
        for table in CURATED_TABLES:
            prefix = f"curated/{table}/snapshot_date={SMOKE_DAY}/"
            for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=out.bucket, Prefix=prefix):
                files.update({o["Key"]: o["ETag"] for o in page.get("Contents", [])})
        return files

    def bookmark_moved(self, out: StackOutputs) -> None:
        before = self.smoke_files(out)
        state = job_run(self.glue, out.job, self.poller)
        after = self.smoke_files(out)
        self.check("bookmark moved: a second job run reads nothing new", state == "SUCCEEDED" and before == after and bool(before),
                   f"job {state}; {len(before)} smoke files, {'unchanged' if before == after else 'REWRITTEN'}")  # fmt: skip

    def cleanup(self, out: StackOutputs) -> None:
        """Delete exactly what this run landed (by version) and the smoke partitions it made."""
        from spotify_etl.ops.raw_quarantine import S3Lake

        lake = S3Lake(f"s3://{out.bucket}", self.s3)
        keys = [lake.moved_key(c.key) for c, _ in self.landed if c.glue_unreadable] + list(
            self.smoke_files(out)
        )
        for key in keys:
            versions = self.s3.list_object_versions(Bucket=out.bucket, Prefix=key)
            for v in [*versions.get("Versions", []), *versions.get("DeleteMarkers", [])]:
                if v["Key"] == key:
                    self.s3.delete_object(Bucket=out.bucket, Key=key, VersionId=v["VersionId"])
        for crafted, version in self.landed:
            self.s3.delete_object(Bucket=out.bucket, Key=crafted.key, VersionId=version)
        for table in CURATED_TABLES:
            self.glue.batch_delete_partition(DatabaseName=out.database, TableName=table,
                                             PartitionsToDelete=[{"Values": [SMOKE_DAY]}])  # fmt: skip
        self.say(
            f"cleaned up: {len(self.landed)} raw objects, {len(keys)} written objects, {SMOKE_DAY} partitions"
        )

    def run(self) -> bool:
        out = stack_outputs(self.session.client("cloudformation"), self.stack)
        try:
            if self.land(out):
                self.first_run_refuses(out)
                self.move_unreadable(out)
                self.second_run_lands(out)
                self.tables_hold_the_good_objects(out)
                self.quarantine_holds_the_bad_objects(out)
                self.crawler_added_partitions(out)
                self.bookmark_moved(out)
        finally:
            self.cleanup(out)
        return all(passed for _, passed, _ in self.results)


def print_plan(stack: str, say: Callable[[str], None] = print) -> None:
    count, tables = len(crafted_objects("DRYRUN")), len(CURATED_TABLES)
    for n, step in enumerate(PLAN, 1):
        say(f"{n:2}. " + step.format(stack=stack, count=count, tables=tables))
    for crafted in crafted_objects("DRYRUN"):
        expect = (
            f"{crafted.items} playlist_items rows" if crafted.playlist_id else f"quarantined {crafted.reason}"
        )
        say(f"    {crafted.case:<15} {len(crafted.body):>9} bytes  {expect}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m infra.scripts.smoke", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--stack", required=True)
    parser.add_argument("--region", default=None)
    parser.add_argument("--dry-run", action="store_true", help="print the plan; no credentials needed")
    parser.add_argument("--timeout-minutes", type=float, default=20)
    args = parser.parse_args(argv)
    if args.dry_run:
        print_plan(args.stack)
        return 0
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    smoke = Smoke(boto3.session.Session(region_name=args.region), args.stack, uuid.uuid4().hex[:6],
                  Poller(every=20, limit=args.timeout_minutes * 60))  # fmt: skip
    try:
        passed = smoke.run()
    except (SmokeError, ClientError, BotoCoreError) as error:
        print(f"ERROR: smoke stopped: {(str(error).splitlines() or [''])[0]}", file=sys.stderr)
        return 2 if not smoke.results else 1
    print(
        f"smoke {'PASSED' if passed else 'FAILED'}: {sum(p for _, p, _ in smoke.results)}/{len(smoke.results)} checks"
    )
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
