"""The transform's own CloudWatch metrics, published by the Glue job after each successful run.

- ``QuarantinedObjects``: raw objects the run quarantined (the sum of the summary's rejected counts); the
  template alarms when it is 1 or more.
- ``TransformSucceeded``: 1 per successful run; the template's freshness alarm fires when its hourly sum stays
  below 1 for 26 hours (missing data counts as breaching).

Namespace: the job's ``--metrics_namespace`` argument (``<stack>/transform``), dimension ``JobName``. Locally
the same figures are in the run summary (``rejected``). Publishing is best effort: a CloudWatch failure is
printed and never fails a run whose data already landed.
"""

from __future__ import annotations

from typing import Any

from spotify_etl.transform.summary import RunSummary

QUARANTINED_METRIC = "QuarantinedObjects"
SUCCEEDED_METRIC = "TransformSucceeded"


def metric_data(summary: RunSummary, job_name: str) -> list[dict[str, Any]]:
    dimensions = [{"Name": "JobName", "Value": job_name}]
    return [
        {
            "MetricName": QUARANTINED_METRIC,
            "Dimensions": dimensions,
            "Value": float(sum(summary.rejected.values())),
            "Unit": "Count",
        },
        {"MetricName": SUCCEEDED_METRIC, "Dimensions": dimensions, "Value": 1.0, "Unit": "Count"},
    ]


def publish(summary: RunSummary, job_name: str, namespace: str, client: Any = None) -> bool:
    """Put the run's metrics; returns whether CloudWatch accepted them."""
    try:
        if client is None:
            import boto3

            client = boto3.client("cloudwatch")
        client.put_metric_data(Namespace=namespace, MetricData=metric_data(summary, job_name))
    except Exception as error:  # best effort: the run's data has landed and the bookmark moved
        print(f"WARNING: could not publish the run's metrics to CloudWatch ({type(error).__name__}: {error})")
        return False
    return True
