"""The workflow step of one ``make run`` day: the template's Glue workflow, run locally.

The start trigger fires the transform job (the local runtime, on one SparkSession kept for every day),
and when it SUCCEEDED the conditional trigger fires the crawler (the local crawler, on ``catalog.duckdb``).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from spotify_etl.aws_twin.crawler import CrawlResult, crawl_lake
from spotify_etl.aws_twin.crawler_spec import CrawlerSpec
from spotify_etl.aws_twin.workflow import (
    GlueJob,
    WorkflowGraph,
    WorkflowRun,
    bookmark_option,
    run_workflow,
)
from spotify_etl.lake import LakeLayout

Say = Callable[[str], None]


class SparkHolder:
    """One SparkSession for every simulated day, started on first use (the JVM starts once).

    A session handed in by the caller is used and left running; one started here is stopped at the end.
    """

    def __init__(self, session: Any = None) -> None:
        self.session: Any = session
        self.owned = session is None

    def get(self) -> Any:
        if self.session is None:
            from spotify_etl.sparkutil import local_spark_session

            os.environ.setdefault(
                "SPARK_LOCAL_IP", "127.0.0.1"
            )  # local only; also silences Spark's hostname warning
            self.session = local_spark_session(app_name="spotify-etl-run", shuffle_partitions=2)
            self.session.sparkContext.setLogLevel("ERROR")
        return self.session

    def stop(self) -> None:
        if self.session is not None and self.owned:
            self.session.stop()
            self.session = None


def _print_lines(text: str, say: Say) -> None:
    for line in text.splitlines():
        say(f"      {line}")


def run_workflow_day(
    graph: WorkflowGraph, lake: LakeLayout, spark: SparkHolder, say: Say, moment: datetime
) -> tuple[WorkflowRun, Any, CrawlResult | None]:
    """Run the workflow once: (the run, the transform's summary or None, the crawl's result or None).

    Raises:
        BookmarkError: the bookmark is corrupt; EnvironmentFault: the disk, permissions or network failed.
            The job is FAILED in the workflow run as on Glue, and these stop ``make run`` with their own
            exit code (docs/design.md s.7) instead of "a step failed, re-run to retry".
    """
    from spotify_etl.runtime.local.bookmarks import BookmarkError
    from spotify_etl.runtime.local.transform import config_for_lake, run_local_transform
    from spotify_etl.transform.faults import EnvironmentFault

    outputs: dict[str, Any] = {}

    def transform(job: GlueJob) -> Any:
        config, bookmarks = config_for_lake(lake, bookmark_option=bookmark_option(job))
        # The run's clock: the simulated day's when the simulation runs ahead of the real clock, so that
        # its observations are plausible (transform/plausibility.py); the real clock otherwise.
        try:
            summary = run_local_transform(
                config, spark.get(), bookmarks_root=bookmarks, now=lambda: max(datetime.now(UTC), moment)
            )
        except (BookmarkError, EnvironmentFault) as error:
            outputs["stop"] = error
            raise
        outputs["transform"] = summary
        _print_lines(summary.format(), say)
        return summary

    def crawler(spec: CrawlerSpec) -> Any:
        result = crawl_lake(lake, spec)
        outputs["crawl"] = result
        _print_lines(result.format(), say)
        return result

    run = run_workflow(graph, transform, crawler, say=lambda line: say(f"    {line}"))
    if "stop" in outputs:
        raise outputs["stop"]
    return run, outputs.get("transform"), outputs.get("crawl")
