"""Delete a deployed stack: empty the buckets CloudFormation will delete, then delete the stack and wait.

``make destroy STACK=... [REGION=...]`` runs ``python -m infra.scripts.destroy``. CloudFormation deletes only
empty buckets ("You can only delete empty buckets", DeletionPolicy, https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-attribute-deletionpolicy.html),
and a versioned bucket is empty only when every object version and delete marker is gone
(https://docs.aws.amazon.com/AmazonS3/latest/userguide/empty-bucket.html). So every bucket of the stack whose
``DeletionPolicy`` is not ``Retain`` (the Athena results) is emptied of all versions first. Buckets marked
``Retain`` (the data lake, the access logs) and the KMS key stay, with their data: the stack's deletion never
loses the lake; delete them by hand when that is what you want (docs/deploy.md).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

from spotify_etl.cfn_template import TemplateError, parse_template

KEEP_POLICIES = ("Retain", "RetainExceptOnCreate", "Snapshot")


class DestroyError(RuntimeError):
    """The stack cannot be deleted; the message says why."""


def _template(cfn: Any, stack: str) -> dict[str, Any]:
    body = cfn.get_template(StackName=stack, TemplateStage="Original")["TemplateBody"]
    if isinstance(body, dict):
        return body
    return parse_template(body, f"the template of stack {stack}")


def buckets_to_empty(cfn: Any, stack: str) -> list[str]:
    """Physical names of the stack's buckets that CloudFormation deletes (DeletionPolicy not Retain)."""
    resources = _template(cfn, stack).get("Resources") or {}
    names = []
    for page in cfn.get_paginator("list_stack_resources").paginate(StackName=stack):
        for summary in page["StackResourceSummaries"]:
            declared = resources.get(summary["LogicalResourceId"]) or {}
            if (
                summary["ResourceType"] != "AWS::S3::Bucket"
                or declared.get("DeletionPolicy") in KEEP_POLICIES
            ):
                continue
            if summary.get("ResourceStatus") != "DELETE_COMPLETE" and summary.get("PhysicalResourceId"):
                names.append(summary["PhysicalResourceId"])
    return sorted(names)


def empty_bucket(s3: Any, bucket: str) -> int:
    """Delete every object version and delete marker of a bucket; returns how many were deleted."""
    deleted = 0
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket):
        keys = [
            {"Key": v["Key"], "VersionId": v["VersionId"]}
            for v in [*page.get("Versions", []), *page.get("DeleteMarkers", [])]
        ]
        for start in range(0, len(keys), 1000):  # DeleteObjects takes up to 1,000 keys
            response = s3.delete_objects(
                Bucket=bucket, Delete={"Objects": keys[start : start + 1000], "Quiet": True}
            )
            if response.get("Errors"):
                first = response["Errors"][0]
                raise DestroyError(
                    f"bucket {bucket}: cannot delete {first['Key']}: {first['Code']} {first['Message']}"
                )
            deleted += len(keys[start : start + 1000])
    return deleted


def destroy(session: Any, stack: str, *, wait: bool = True) -> None:
    cfn, s3 = session.client("cloudformation"), session.client("s3")
    try:
        buckets = buckets_to_empty(cfn, stack)
    except cfn.exceptions.ClientError as error:
        raise DestroyError(f"stack {stack}: {error}") from error
    for bucket in buckets:
        print(f"bucket {bucket}: {empty_bucket(s3, bucket)} object versions deleted", flush=True)
    cfn.delete_stack(StackName=stack)
    print(f"stack {stack}: deletion started", flush=True)
    if wait:
        cfn.get_waiter("stack_delete_complete").wait(StackName=stack)
        print(f"stack {stack}: deleted (retained: the data and access-log buckets, the KMS key)")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m infra.scripts.destroy", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--stack", required=True)
    parser.add_argument("--region", default=None)
    args = parser.parse_args(argv)
    import boto3

    try:
        destroy(boto3.session.Session(region_name=args.region), args.stack)
    except (DestroyError, TemplateError) as error:
        print(f"ERROR: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
