"""make destroy: the versioned results bucket is emptied of every version, then the stack deleted; the lake kept.

S3 is moto. CloudFormation is a small fake (moto's needs extras this project does not install) that follows the
documented deletion rules: a bucket whose DeletionPolicy is Delete is deleted with the stack, and deletion
fails (DELETE_FAILED, "The bucket you tried to delete is not empty") while it holds any object version or
delete marker; a Retain bucket is left as it is
(https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-attribute-deletionpolicy.html).
"""

from __future__ import annotations

from typing import Any

import boto3
import pytest
import yaml
from moto import mock_aws

from infra.scripts.destroy import buckets_to_empty, destroy

TEMPLATE = {
    "Resources": {
        "DataBucket": {"Type": "AWS::S3::Bucket", "DeletionPolicy": "Retain"},
        "AthenaResultsBucket": {"Type": "AWS::S3::Bucket", "DeletionPolicy": "Delete"},
    }
}
PHYSICAL = {"DataBucket": "lake-data", "AthenaResultsBucket": "lake-results"}


class FakeCloudFormation:
    class exceptions:
        ClientError = Exception

    def __init__(self, s3: Any) -> None:
        self.s3 = s3
        self.status = "CREATE_COMPLETE"

    def get_template(self, StackName: str, TemplateStage: str) -> dict[str, Any]:
        return {"TemplateBody": yaml.safe_dump(TEMPLATE)}

    def get_paginator(self, _name: str) -> Any:
        fake = self

        class Paginator:
            def paginate(self, StackName: str) -> list[dict[str, Any]]:
                return [
                    {
                        "StackResourceSummaries": [
                            {
                                "LogicalResourceId": rid,
                                "PhysicalResourceId": name,
                                "ResourceType": "AWS::S3::Bucket",
                                "ResourceStatus": fake.status,
                            }
                            for rid, name in PHYSICAL.items()
                        ]
                    }
                ]

        return Paginator()

    def delete_stack(self, StackName: str) -> None:
        for rid, resource in TEMPLATE["Resources"].items():
            if resource["DeletionPolicy"] != "Delete":
                continue
            versions = self.s3.list_object_versions(Bucket=PHYSICAL[rid])
            if versions.get("Versions") or versions.get("DeleteMarkers"):
                self.status = "DELETE_FAILED"
                return
            self.s3.delete_bucket(Bucket=PHYSICAL[rid])
        self.status = "DELETE_COMPLETE"


class Session:
    def __init__(self, cfn: FakeCloudFormation, s3: Any) -> None:
        self._clients = {"cloudformation": cfn, "s3": s3}

    def client(self, name: str) -> Any:
        return self._clients[name]


@pytest.fixture()
def s3():
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        for bucket in PHYSICAL.values():
            client.create_bucket(Bucket=bucket)
            client.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
            for body in (b"one", b"two"):  # two versions
                client.put_object(Bucket=bucket, Key="results/q.csv", Body=body)
            client.put_object(Bucket=bucket, Key="results/gone.csv", Body=b"x")
            client.delete_object(Bucket=bucket, Key="results/gone.csv")  # a delete marker
        yield client


def test_without_emptying_the_versioned_bucket_the_stack_cannot_be_deleted(s3):
    cfn = FakeCloudFormation(s3)
    s3.delete_objects(
        Bucket="lake-results", Delete={"Objects": [{"Key": "results/q.csv"}, {"Key": "results/gone.csv"}]}
    )  # a plain "delete everything" leaves versions and markers behind

    cfn.delete_stack(StackName="lake")

    assert cfn.status == "DELETE_FAILED"


def test_destroy_empties_every_version_of_the_deleted_bucket_and_keeps_the_lake(s3):
    cfn = FakeCloudFormation(s3)

    assert buckets_to_empty(cfn, "lake") == ["lake-results"]
    destroy(Session(cfn, s3), "lake", wait=False)

    assert cfn.status == "DELETE_COMPLETE"
    assert {b["Name"] for b in s3.list_buckets()["Buckets"]} == {"lake-data"}
    kept = s3.list_object_versions(Bucket="lake-data")
    assert (len(kept["Versions"]), len(kept["DeleteMarkers"])) == (3, 1)
