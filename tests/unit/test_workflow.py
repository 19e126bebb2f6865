"""The local workflow runner executes the template's Glue workflow graph and refuses broken graphs."""

from __future__ import annotations

from pathlib import Path

import pytest

from spotify_etl.aws_twin.workflow import (
    DEFAULT_TEMPLATE,
    GlueJob,
    WorkflowError,
    bookmark_option,
    build_graph,
    load_workflow,
    local_implementations,
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


def recording_implementations(graph, calls: list[str], fail: frozenset[str] = frozenset()):
    def transform(job: GlueJob) -> str:
        calls.append(job.logical_id)
        if job.logical_id in fail:
            raise RuntimeError("boom")
        return f"transformed with {bookmark_option(job)}"

    def crawl(crawler) -> str:
        calls.append(crawler.logical_id)
        if crawler.logical_id in fail:
            raise RuntimeError("crawl boom")
        return "crawled"

    return local_implementations(graph, run_transform=transform, run_crawler=crawl)


def test_runs_the_job_then_the_crawler_when_the_job_succeeded(tmp_path: Path) -> None:
    graph = load_workflow(write(tmp_path, START, CRAWL_AFTER))
    calls: list[str] = []
    lines: list[str] = []

    run = run_workflow(graph, recording_implementations(graph, calls), progress=lines.append)

    assert calls == ["Transform", "Crawler"]
    assert run.state == "COMPLETED"
    assert run.fired == ["Start", "CrawlAfter"]
    assert [(s.node, s.kind, s.trigger, s.state, s.output) for s in run.steps] == [
        ("Transform", "job", "Start", "SUCCEEDED", "transformed with job-bookmark-enable"),
        ("Crawler", "crawler", "CrawlAfter", "SUCCEEDED", "crawled"),
    ]
    assert lines[0] == "trigger Start (EVENT) fired -> Transform"


def test_a_failed_job_does_not_fire_the_crawler(tmp_path: Path) -> None:
    graph = load_workflow(write(tmp_path, START, CRAWL_AFTER))
    calls: list[str] = []

    run = run_workflow(graph, recording_implementations(graph, calls, fail=frozenset({"Transform"})))

    assert calls == ["Transform"]
    assert run.state == "FAILED"
    assert run.step("Transform").state == "FAILED"
    assert run.step("Transform").error is not None
    assert run.step("Transform").error.startswith("RuntimeError: boom")


def test_a_failure_branch_fires_on_failed_and_any_needs_one_condition(tmp_path: Path) -> None:
    on_failure = """\
  CrawlAnyway:
    Type: AWS::Glue::Trigger
    Properties:
      WorkflowName: !Ref Flow
      Type: CONDITIONAL
      Predicate:
        Logical: ANY
        Conditions:
          - JobName: !Ref Transform
            State: FAILED
          - JobName: !Ref Transform
            State: TIMEOUT
      Actions:
        - CrawlerName: curated-crawler
"""
    graph = load_workflow(write(tmp_path, START, on_failure))
    calls: list[str] = []

    run = run_workflow(graph, recording_implementations(graph, calls, fail=frozenset({"Transform"})))

    assert calls == ["Transform", "Crawler"]  # the literal crawler name resolved to its logical id
    assert run.fired == ["Start", "CrawlAnyway"]


def test_the_real_template_runs_transform_then_crawler() -> None:
    graph = load_workflow(DEFAULT_TEMPLATE)
    calls: list[str] = []

    run = run_workflow(graph, recording_implementations(graph, calls))

    assert graph.start.type in ("EVENT", "SCHEDULED", "ON_DEMAND")
    assert [graph.kind(c) for c in calls] == ["job", "crawler"]
    assert run.state == "COMPLETED"
    assert bookmark_option(graph.jobs[calls[0]]) == "job-bookmark-enable"


@pytest.mark.parametrize(
    ("parts", "message"),
    [
        (
            (
                START,
                CRAWL_AFTER.replace("CrawlerName: !Ref Crawler", "CrawlerName: !Ref NoSuchCrawler"),
            ),
            "trigger CrawlAfter, action 1 names crawler 'NoSuchCrawler', which is not an AWS::Glue::Crawler",
        ),
        (
            (START.replace("JobName: !Ref Transform", "JobName: some-other-job"),),
            "trigger Start, action 1 names job 'some-other-job', which is not an AWS::Glue::Job",
        ),
        (
            (START, CRAWL_AFTER.replace("- JobName: !Ref Transform\n", "- JobName: !Ref Ghost\n")),
            "trigger CrawlAfter, condition 1 watches job 'Ghost', which is not an AWS::Glue::Job",
        ),
        (
            (START,),
            "no path from the start trigger Start to a crawler (it reaches Transform)",
        ),
        (
            (
                START,
                CRAWL_AFTER,
                """\
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
""",
            ),
            "has a cycle: Crawler -> Transform -> Crawler (closed by trigger CrawlAfter)",
        ),
        (
            (CRAWL_AFTER,),
            "workflow Flow has no start trigger",
        ),
        (
            (START, START.replace("  Start:", "  Start2:")),
            "workflow Flow has several start triggers (Start, Start2)",
        ),
        (
            (START, CRAWL_AFTER.replace("State: SUCCEEDED", "State: DONE")),
            "trigger CrawlAfter, condition 1: state 'DONE' is not one of",
        ),
    ],
    ids=[
        "unknown-crawler",
        "unknown-job",
        "unknown-watched-job",
        "no-crawler",
        "cycle",
        "no-start",
        "two-starts",
        "bad-state",
    ],
)
def test_broken_graphs_are_refused(tmp_path: Path, parts: tuple[str, ...], message: str) -> None:
    path = write(tmp_path, *parts)

    with pytest.raises(WorkflowError) as error:
        load_workflow(path)

    assert message in str(error.value)
    assert str(path) in str(error.value)


def test_a_job_without_a_local_implementation_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, START, CRAWL_AFTER)
    path.write_text(path.read_text().replace("transform_playlists.py", "other_job.py"))
    graph = load_workflow(path)

    with pytest.raises(WorkflowError, match=r"job Transform runs 's3://\$\{Assets\}/glue/other_job.py'"):
        recording_implementations(graph, [])


def test_triggers_of_other_workflows_are_ignored_and_a_choice_is_required(tmp_path: Path) -> None:
    other = """\
  Other:
    Type: AWS::Glue::Workflow
  OtherStart:
    Type: AWS::Glue::Trigger
    Properties:
      WorkflowName: !Ref Other
      Type: ON_DEMAND
      Actions:
        - CrawlerName: !Ref Crawler
"""
    template = load_template(write(tmp_path, START, CRAWL_AFTER, other))

    with pytest.raises(WorkflowError, match="several workflows"):
        build_graph(template)
    flow = build_graph(template, "Flow")
    other_flow = build_graph(template, "Other")

    assert [t.logical_id for t in flow.triggers] == ["Start", "CrawlAfter"]
    assert (other_flow.start.logical_id, other_flow.start.actions) == ("OtherStart", ("Crawler",))


def test_short_form_tags_are_parsed(tmp_path: Path) -> None:
    template = load_template(write(tmp_path, START, CRAWL_AFTER))

    props = template["Resources"]["Transform"]["Properties"]
    assert props["Name"] == {"Fn::Sub": "${AWS::StackName}-transform"}
    assert template["Resources"]["Start"]["Properties"]["WorkflowName"] == {"Ref": "Flow"}


def test_a_missing_template_is_named(tmp_path: Path) -> None:
    with pytest.raises(WorkflowError, match="no CloudFormation template at"):
        load_workflow(tmp_path / "nope.yaml")
