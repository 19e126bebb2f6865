"""The Glue job's run metrics reach CloudWatch (moto), and a CloudWatch failure never fails the run."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import boto3
from moto import mock_aws

from spotify_etl.runtime.run_metrics import QUARANTINED_METRIC, SUCCEEDED_METRIC, publish
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

    assert publish(RunSummary(rejected={"not_gzip": 2, "not_json": 1}), "job", "stack/transform", client)

    assert _sum(client, "stack/transform", QUARANTINED_METRIC) == 3.0
    assert _sum(client, "stack/transform", SUCCEEDED_METRIC) == 1.0


def test_a_cloudwatch_failure_is_reported_not_raised(capsys) -> None:
    class Refusing:
        def put_metric_data(self, **_kwargs: object) -> None:
            raise RuntimeError("AccessDenied")

    assert publish(RunSummary(), "job", "stack/transform", Refusing()) is False
    assert (
        "could not publish the run's metrics to CloudWatch (RuntimeError: AccessDenied)"
        in capsys.readouterr().out
    )
