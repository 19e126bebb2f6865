"""The transform's own CloudWatch metrics, published by the Glue job after each successful run.

- ``QuarantinedObjects``: raw objects the run quarantined (the sum of the summary's rejected counts); the
  template alarms when it is 1 or more.
- ``TransformSucceeded``: 1 per successful run; the template's freshness alarm fires when its hourly sum stays
  below 1 for 26 hours (missing data counts as breaching).
- ``DataQualityErrorRulesFailed``: the ERROR rules of ``quality/`` that failed on the run's staged partitions
  (``transform/quality_gate.py``): published with the others by a run that landed anyway
  (``--land_despite_quality_errors true``), and alone, before the job fails, by a run the gate stopped;
  ``DataQualityRulesPassed`` and ``DataQualityWarnRulesFailed`` go with it. The template alarms when the
  failures are 1 or more.

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
QUALITY_ERRORS_METRIC = "DataQualityErrorRulesFailed"
QUALITY_WARNINGS_METRIC = "DataQualityWarnRulesFailed"
QUALITY_PASSED_METRIC = "DataQualityRulesPassed"


class MetricsNotPublished(RuntimeError):
    """CloudWatch did not take the run's metrics (after the run's data landed); the message is one line."""


def _count(name: str, value: float, job_name: str) -> dict[str, Any]:
    return {
        "MetricName": name,
        "Dimensions": [{"Name": "JobName", "Value": job_name}],
        "Value": float(value),
        "Unit": "Count",
    }


def quality_metric_data(quality: dict[str, int], job_name: str) -> list[dict[str, Any]]:
    """The gate's figures (``quality_gate.counts``); none when the run judged no rule."""
    if not quality:
        return []
    return [
        _count(QUALITY_ERRORS_METRIC, quality["error_failed"], job_name),
        _count(QUALITY_WARNINGS_METRIC, quality["warn_failed"], job_name),
        _count(QUALITY_PASSED_METRIC, quality["passed"], job_name),
    ]


def metric_data(summary: RunSummary, job_name: str) -> list[dict[str, Any]]:
    return [
        _count(QUARANTINED_METRIC, sum(summary.rejected.values()), job_name),
        _count(SUCCEEDED_METRIC, 1.0, job_name),
        *quality_metric_data(summary.quality, job_name),
    ]


def publish(
    summary: RunSummary | list[dict[str, Any]],
    job_name: str,
    namespace: str,
    region: str,
    client: Any = None,
) -> None:
    """Put the run's metrics (a successful run's summary, or the metric data of a stopped run) into
    ``region``'s CloudWatch.

    Raises:
        MetricsNotPublished: CloudWatch refused or could not be reached; the data of the run has landed.
    """
    try:
        if client is None:
            import boto3

            client = boto3.client("cloudwatch", region_name=region)
        data = metric_data(summary, job_name) if isinstance(summary, RunSummary) else summary
        client.put_metric_data(Namespace=namespace, MetricData=data)
    except Exception as error:
        first_line = (str(error).splitlines() or [""])[0]
        raise MetricsNotPublished(
            f"the run's data landed and its bookmark moved, but its metrics did not reach CloudWatch "
            f"({namespace} in {region}: {type(error).__name__}: {first_line}); the run is marked FAILED so "
            "that this is seen (docs/deploy.md, 'Troubleshooting')"
        ) from error
