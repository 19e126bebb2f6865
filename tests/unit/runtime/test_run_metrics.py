"""The Glue job's run metrics reach CloudWatch of the job's own region (moto), and a failure to publish them is
raised in one line, never swallowed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber
from moto import mock_aws

from spotify_etl.runtime.run_metrics import (
    QUARANTINED_METRIC,
    SUCCEEDED_METRIC,
    MetricsNotPublished,
    publish,
)
from spotify_etl.transform.summary import RunSummary


def _sum(client, namespace: str, metric: str) -> float:
    now = datetime.now(UTC)
    stats = client.get_metric_statistics(
        Namespace=namespace,
        MetricName=metric,
        Dimensions=[{"Name": "JobName", "Value": "job"}],
        StartTime=now - timedelta(hours=1),
        EndTime=now + timedelta(hours=1),
        Period=3600,
        Statistics=["Sum"],
    )
    return sum(p["Sum"] for p in stats["Datapoints"])


@mock_aws
def test_a_run_publishes_its_quarantined_count_and_its_success() -> None:
    client = boto3.client("cloudwatch", region_name="eu-west-1")

    publish(
        RunSummary(rejected={"not_gzip": 2, "not_json": 1}), "job", "stack/transform", "eu-west-1", client
    )

    assert _sum(client, "stack/transform", QUARANTINED_METRIC) == 3.0
    assert _sum(client, "stack/transform", SUCCEEDED_METRIC) == 1.0


@mock_aws
def test_metrics_go_to_the_jobs_region_not_boto3s_default(monkeypatch) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")

    publish(RunSummary(), "job", "stack/transform", "eu-west-1")  # the job builds its own client

    here = boto3.client("cloudwatch", region_name="eu-west-1")
    default = boto3.client("cloudwatch", region_name="us-east-1")
    assert _sum(here, "stack/transform", SUCCEEDED_METRIC) == 1.0
    assert _sum(default, "stack/transform", SUCCEEDED_METRIC) == 0.0


def test_a_cloudwatch_refusal_is_raised_in_one_line() -> None:
    client = boto3.client(
        "cloudwatch", region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    with Stubber(client) as stub:
        stub.add_client_error("put_metric_data", "AccessDenied", "not allowed to put metrics\nsecond line")
        with pytest.raises(MetricsNotPublished) as raised:
            publish(RunSummary(), "job", "stack/transform", "eu-west-1", client)

    message = str(raised.value)
    assert "\n" not in message
    assert "stack/transform in eu-west-1: ClientError" in message
    assert "not allowed to put metrics" in message and "second line" not in message
    assert isinstance(raised.value.__cause__, ClientError)
