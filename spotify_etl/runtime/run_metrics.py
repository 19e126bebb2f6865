"""The transform's own CloudWatch metrics, published by the Glue job after each successful run.

- ``QuarantinedObjects``: raw objects the run quarantined (the sum of the summary's rejected counts); the
  template alarms when it is 1 or more.
- ``TransformSucceeded``: 1 per successful run; the template's freshness alarm fires when its hourly sum stays
  below 1 for 26 hours (missing data counts as breaching).

Namespace: the job's ``--metrics_namespace`` argument (``<stack>/transform``), dimension ``JobName``, in the
region of ``--metrics_region`` (the template passes the stack's ``AWS::Region``): the metrics must reach the
region whose alarms watch them, and a client built from boto3's default region would send them wherever the
worker's environment points, or nowhere. Locally the same figures are in the run summary (``rejected``).

A failure to publish is never silent: the run's data has landed and its bookmark has moved (publishing comes
after ``job.commit()``), so nothing is redone, but :func:`publish` raises :class:`MetricsNotPublished` and the
job run ends FAILED, which the template's job-state rule sends to the alarm topic with this one-line message.
Otherwise a lost ``TransformSucceeded`` would page as "no run for 26 hours" and a lost ``QuarantinedObjects``
would hide a quarantine.
"""

from __future__ import annotations

from typing import Any

from spotify_etl.transform.summary import RunSummary

QUARANTINED_METRIC = "QuarantinedObjects"
SUCCEEDED_METRIC = "TransformSucceeded"


class MetricsNotPublished(RuntimeError):
    """CloudWatch did not take the run's metrics (after the run's data landed); the message is one line."""


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


def publish(summary: RunSummary, job_name: str, namespace: str, region: str, client: Any = None) -> None:
    """Put the run's metrics into ``region``'s CloudWatch.

    Raises:
        MetricsNotPublished: CloudWatch refused or could not be reached; the data of the run has landed.
    """
    try:
        if client is None:
            import boto3

            client = boto3.client("cloudwatch", region_name=region)
        client.put_metric_data(Namespace=namespace, MetricData=metric_data(summary, job_name))
    except Exception as error:
        first_line = (str(error).splitlines() or [""])[0]
        raise MetricsNotPublished(
            f"the run's data landed and its bookmark moved, but its metrics did not reach CloudWatch "
            f"({namespace} in {region}: {type(error).__name__}: {first_line}); the run is marked FAILED so "
            "that this is seen (docs/deploy.md, 'Troubleshooting')"
        ) from error
