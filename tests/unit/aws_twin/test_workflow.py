"""The local workflow runner runs the template's Glue workflow and refuses, in one line, any other shape."""

from __future__ import annotations

from pathlib import Path

import pytest

from spotify_etl.aws_twin.crawler_spec import CrawlerSpec
from spotify_etl.aws_twin.workflow import (
    DEFAULT_TEMPLATE,
    GlueJob,
    WorkflowError,
    bookmark_option,
    build_graph,
    load_workflow,
    run_workflow,
)
from spotify_etl.cfn_template import load_template

HEADER = """\
AWSTemplateFormatVersion: "2010-09-09"
Resources:
  Flow:
    Type: AWS::Glue::Workflow
    Properties:
      Name: !Sub ${AWS::StackName}-pipeline
  Transform:
    Type: AWS::Glue::Job
    Properties:
      Name: !Sub ${AWS::StackName}-transform
      Command:
        Name: glueetl
        ScriptLocation: !Sub s3://${Assets}/glue/transform_playlists.py
      DefaultArguments:
        --job-bookmark-option: job-bookmark-enable
  Crawler:
    Type: AWS::Glue::Crawler
    Properties:
      Name: curated-crawler
      Targets:
        S3Targets:
          - Path: !Sub s3://${DataBucket}/curated/
      Configuration: '{"Version": 1.0, "Grouping": {"TableLevelConfiguration": 3}}'
"""

START = """\
  Start:
    Type: AWS::Glue::Trigger
    Properties:
      WorkflowName: !Ref Flow
      Type: EVENT
      Actions:
        - JobName: !Ref Transform
"""

CRAWL_AFTER = """\
  CrawlAfter:
    Type: AWS::Glue::Trigger
    Properties:
      WorkflowName: !Ref Flow
      Type: CONDITIONAL
      Predicate:
        Conditions:
          - JobName: !Ref Transform
            State: SUCCEEDED
            LogicalOperator: EQUALS
      Actions:
        - CrawlerName: !Ref Crawler
"""


def write(tmp_path: Path, *parts: str) -> Path:
    path = tmp_path / "template.yaml"
    path.write_text(HEADER + "".join(parts))
    return path


def run_recorded(graph, calls: list[str], fail: frozenset[str] = frozenset(), lines: list[str] | None = None):
    def transform(job: GlueJob) -> str:
        calls.append(job.logical_id)
        if job.logical_id in fail:
            raise RuntimeError("boom")
        return f"transformed with {bookmark_option(job)}"

    def crawl(crawler: CrawlerSpec) -> str:
        calls.append(crawler.logical_id)
        return "crawled"

    return run_workflow(graph, transform, crawl, say=None if lines is None else lines.append)


def test_runs_the_job_then_the_crawler_when_the_job_succeeded(tmp_path: Path) -> None:
    graph = load_workflow(write(tmp_path, START, CRAWL_AFTER))
    calls: list[str] = []
    lines: list[str] = []

    run = run_recorded(graph, calls, lines=lines)

    assert calls == ["Transform", "Crawler"]
    assert run.state == "COMPLETED"
    assert run.fired == ["Start", "CrawlAfter"]
    assert [(s.node, s.kind, s.trigger, s.state, s.output) for s in run.steps] == [
        ("Transform", "job", "Start", "SUCCEEDED", "transformed with job-bookmark-enable"),
        ("Crawler", "crawler", "CrawlAfter", "SUCCEEDED", "crawled"),
    ]
    assert lines[0] == "trigger Start (EVENT) fired -> Transform"
    assert lines[3] == "trigger CrawlAfter (CONDITIONAL) fired -> Crawler"
    assert graph.describe() == (
        "Start (EVENT) -> job Transform\nCrawlAfter (CONDITIONAL when Transform SUCCEEDED) -> crawler Crawler"
    )


def test_a_failed_job_does_not_fire_the_crawler(tmp_path: Path) -> None:
    graph = load_workflow(write(tmp_path, START, CRAWL_AFTER))
    calls: list[str] = []

    run = run_recorded(graph, calls, fail=frozenset({"Transform"}))

    assert calls == ["Transform"]
    assert run.state == "FAILED"
    assert run.fired == ["Start"]
    assert run.step("Transform").state == "FAILED"
    assert run.step("Transform").error is not None
    assert run.step("Transform").error.startswith("RuntimeError: boom")


def test_a_trigger_on_failed_fires_after_a_failure_and_a_literal_crawler_name_resolves(
    tmp_path: Path,
) -> None:
    on_failure = CRAWL_AFTER.replace("State: SUCCEEDED", "State: FAILED").replace(
        "CrawlerName: !Ref Crawler", "CrawlerName: curated-crawler"
    )
    graph = load_workflow(write(tmp_path, START, on_failure))
    calls: list[str] = []

    run = run_recorded(graph, calls, fail=frozenset({"Transform"}))

    assert calls == ["Transform", "Crawler"]
    assert run.fired == ["Start", "CrawlAfter"]
    assert run.state == "FAILED"  # the job failed, whatever the crawler did


def test_the_real_template_runs_transform_then_crawler() -> None:
    graph = load_workflow(DEFAULT_TEMPLATE)
    calls: list[str] = []

    run = run_recorded(graph, calls)

    assert graph.start_type in ("EVENT", "SCHEDULED", "ON_DEMAND")
    assert calls == [graph.job.logical_id, graph.crawler.logical_id]
    assert run.state == "COMPLETED"
    assert bookmark_option(graph.job) == "job-bookmark-enable"


AGAIN = """\
  Again:
    Type: AWS::Glue::Trigger
    Properties:
      WorkflowName: !Ref Flow
      Type: CONDITIONAL
      Predicate:
        Conditions:
          - CrawlerName: !Ref Crawler
            CrawlState: SUCCEEDED
      Actions:
        - JobName: !Ref Transform
"""
SECOND_CONDITION = """\
          - JobName: !Ref Transform
            State: TIMEOUT
      Actions:"""


@pytest.mark.parametrize(
    ("parts", "message"),
    [
        (
            (START, CRAWL_AFTER.replace("CrawlerName: !Ref Crawler", "CrawlerName: !Ref NoSuchCrawler")),
            "trigger CrawlAfter: its action {'CrawlerName': {'Ref': 'NoSuchCrawler'}} is not an AWS::Glue::Crawler",
        ),
        (
            (START.replace("JobName: !Ref Transform", "JobName: some-other-job"), CRAWL_AFTER),
            "start trigger Start: its action {'JobName': 'some-other-job'} is not an AWS::Glue::Job",
        ),
        (
            (START, CRAWL_AFTER.replace("- JobName: !Ref Transform\n", "- JobName: !Ref Ghost\n")),
            "trigger CrawlAfter: its condition {'JobName': {'Ref': 'Ghost'}, ",
        ),
        ((START,), "workflow Flow: 0 CONDITIONAL triggers (none)"),
        ((START, CRAWL_AFTER, AGAIN), "workflow Flow: 2 CONDITIONAL triggers (CrawlAfter, Again)"),
        ((CRAWL_AFTER,), "workflow Flow: 0 start triggers (none)"),
        (
            (START, START.replace("  Start:", "  Start2:"), CRAWL_AFTER),
            "workflow Flow: 2 start triggers (Start, Start2)",
        ),
        (
            (START, CRAWL_AFTER.replace("State: SUCCEEDED", "State: DONE")),
            "trigger CrawlAfter: state 'DONE' is not one of SUCCEEDED, STOPPED, FAILED, TIMEOUT",
        ),
        (  # a state AWS lists but a trigger cannot listen for (API_Condition)
            (START, CRAWL_AFTER.replace("State: SUCCEEDED", "State: ERROR")),
            "trigger CrawlAfter: state 'ERROR' is not one of",
        ),
        (
            (START, CRAWL_AFTER.replace("      Actions:", SECOND_CONDITION)),
            "trigger CrawlAfter: 2 conditions",
        ),
        (
            (
                START.replace(
                    "        - JobName: !Ref Transform\n", "        - JobName: !Ref Transform\n" * 2
                ),
                CRAWL_AFTER,
            ),
            "start trigger Start: 2 actions",
        ),
    ],
    ids=[
        "unknown-crawler",
        "unknown-job",
        "watches-another-job",
        "no-crawler-trigger",
        "extra-trigger",
        "no-start",
        "two-starts",
        "bad-state",
        "unwatchable-state",
        "two-conditions",
        "two-start-actions",
    ],
)
def test_any_other_graph_is_refused_in_one_line(tmp_path: Path, parts: tuple[str, ...], message: str) -> None:
    path = write(tmp_path, *parts)

    with pytest.raises(WorkflowError) as error:
        load_workflow(path)

    assert message in str(error.value)
    assert str(error.value).startswith(str(path))
    assert "\n" not in str(error.value)
    assert str(error.value).endswith("-> one crawler")


def test_a_job_without_a_local_implementation_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, START, CRAWL_AFTER)
    path.write_text(path.read_text().replace("transform_playlists.py", "other_job.py"))

    with pytest.raises(WorkflowError, match=r"job Transform: it runs 's3://\$\{Assets\}/glue/other_job.py'"):
        load_workflow(path)


def test_a_second_workflow_is_refused(tmp_path: Path) -> None:
    other = """\
  Other:
    Type: AWS::Glue::Workflow
"""
    template = load_template(write(tmp_path, START, CRAWL_AFTER, other))

    with pytest.raises(WorkflowError, match="the template: 2 AWS::Glue::Workflow resources"):
        build_graph(template)


def test_short_form_tags_are_parsed(tmp_path: Path) -> None:
    template = load_template(write(tmp_path, START, CRAWL_AFTER))

    props = template["Resources"]["Transform"]["Properties"]
    assert props["Name"] == {"Fn::Sub": "${AWS::StackName}-transform"}
    assert template["Resources"]["Start"]["Properties"]["WorkflowName"] == {"Ref": "Flow"}


def test_a_missing_template_is_named(tmp_path: Path) -> None:
    with pytest.raises(WorkflowError, match="no CloudFormation template at"):
        load_workflow(tmp_path / "nope.yaml")
