"""The local Glue workflow: the template's start trigger -> transform job -> conditional crawler trigger, run.

The graph is read from the CloudFormation template (no second, hand-written DAG), and it must be the one shape
this template uses, within what AWS Glue workflows allow:

- one ``AWS::Glue::Workflow``, and exactly two ``AWS::Glue::Trigger`` resources in it (``WorkflowName``);
- a start trigger (type ``ON_DEMAND``, ``SCHEDULED`` or ``EVENT``: a workflow has exactly one,
  https://docs.aws.amazon.com/glue/latest/dg/workflows_overview.html) whose one action is the
  ``AWS::Glue::Job`` running ``transform_playlists.py``;
- a ``CONDITIONAL`` trigger whose predicate is one condition on that job (``LogicalOperator: EQUALS``, a
  ``State`` a trigger can listen for: ``SUCCEEDED``, ``STOPPED``, ``FAILED`` or ``TIMEOUT``,
  https://docs.aws.amazon.com/glue/latest/webapi/API_Condition.html) and whose one action is an
  ``AWS::Glue::Crawler`` (https://docs.aws.amazon.com/glue/latest/dg/about-triggers.html).

Any other graph is refused in one line (:class:`WorkflowError`) before anything runs. A run fires the start
trigger, runs the job (an exception makes it ``FAILED``), and fires the conditional trigger, which runs the
crawler, only when the job ended in the watched state. ``make run`` calls :func:`run_workflow` after each day's
extract (an EVENT trigger's batch of new raw objects, a SCHEDULED trigger's tick).
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from spotify_etl.aws_twin.crawler_spec import CrawlerSpec, CrawlerSpecError, crawler_spec
from spotify_etl.cfn_template import (
    DEFAULT_TEMPLATE,
    TemplateError,
    load_template,
    properties_of_type,
    sub_text,
)

__all__ = [
    "DEFAULT_TEMPLATE",
    "GlueJob",
    "StepResult",
    "WorkflowError",
    "WorkflowGraph",
    "WorkflowRun",
    "bookmark_option",
    "build_graph",
    "load_workflow",
    "run_workflow",
]

TRANSFORM_SCRIPT = "transform_playlists.py"
START_TRIGGER_TYPES = ("ON_DEMAND", "SCHEDULED", "EVENT")
WATCHABLE_JOB_STATES = ("SUCCEEDED", "STOPPED", "FAILED", "TIMEOUT")
SHAPE = (
    "the local runner runs a Glue workflow of a start trigger (ON_DEMAND, SCHEDULED or EVENT) -> the "
    f"{TRANSFORM_SCRIPT} job -> one CONDITIONAL trigger on that job's state -> one crawler"
)


class WorkflowError(ValueError):
    """The template's workflow is not the shape the local runner runs; the message says where, in one line."""


@dataclass(frozen=True)
class GlueJob:
    """The workflow's job: the transform, with the template's default arguments (its bookmark option)."""

    logical_id: str
    script_location: str  # Command.ScriptLocation (the Fn::Sub text)
    default_arguments: Mapping[str, Any]  # DefaultArguments, e.g. --job-bookmark-option


@dataclass(frozen=True)
class WorkflowGraph:
    """The workflow: start trigger -> job -> (conditional trigger, when the job ends in ``crawl_on``) -> crawler."""

    workflow_id: str  # logical ids, as in the template
    start_trigger: str
    start_type: str  # ON_DEMAND, SCHEDULED or EVENT
    job: GlueJob
    crawl_trigger: str  # the CONDITIONAL trigger
    crawl_on: str  # the job state it watches
    crawler: CrawlerSpec  # as AWS's crawler rules read it from the template

    def describe(self) -> str:
        """One line per trigger: ``Trigger (TYPE[, when ...]) -> actions``."""
        return (
            f"{self.start_trigger} ({self.start_type}) -> job {self.job.logical_id}\n"
            f"{self.crawl_trigger} (CONDITIONAL when {self.job.logical_id} {self.crawl_on}) -> "
            f"crawler {self.crawler.logical_id}"
        )


@dataclass(frozen=True)
class StepResult:
    node: str
    kind: str
    trigger: str
    state: str
    seconds: float
    output: Any = None
    error: str | None = None


@dataclass
class WorkflowRun:
    workflow_id: str
    steps: list[StepResult] = field(default_factory=list)
    fired: list[str] = field(default_factory=list)

    @property
    def state(self) -> str:
        return "COMPLETED" if all(s.state == "SUCCEEDED" for s in self.steps) else "FAILED"

    def step(self, node: str) -> StepResult:
        return next(s for s in self.steps if s.node == node)


# ---------------------------------------------------------------- reading the template


def _refuse(where: str, found: str) -> WorkflowError:
    return WorkflowError(f"{where}: {found}; {SHAPE}")


def _ref(value: Any, known: Mapping[str, Mapping[str, Any]]) -> str | None:
    """The logical id that ``!Ref X`` or a literal ``Name`` names, when it is one of ``known``."""
    if isinstance(value, dict) and value.get("Ref") in known:
        return str(value["Ref"])
    names = {str(sub_text(p.get("Name"))): rid for rid, p in known.items() if sub_text(p.get("Name"))}
    return names.get(value) if isinstance(value, str) else None


def _one(items: list[Any], where: str, what: str) -> Any:
    if len(items) != 1:
        raise _refuse(where, f"{len(items)} {what}")
    return items[0]


def _start(rid: str, props: Mapping[str, Any], jobs: Mapping[str, Mapping[str, Any]]) -> GlueJob:
    action = _one(list(props.get("Actions") or []), f"start trigger {rid}", "actions")
    job_id = _ref(action.get("JobName"), jobs)
    if job_id is None:
        raise _refuse(f"start trigger {rid}", f"its action {action} is not an AWS::Glue::Job of the template")
    job = jobs[job_id]
    script_text = sub_text((job.get("Command") or {}).get("ScriptLocation")) or ""
    if not script_text.endswith(TRANSFORM_SCRIPT):
        raise _refuse(f"job {job_id}", f"it runs {script_text or 'no script'!r}")
    return GlueJob(job_id, script_text, dict(job.get("DefaultArguments") or {}))


def _crawl_on(rid: str, props: Mapping[str, Any], job: GlueJob) -> str:
    """The job state the conditional trigger waits for, checked."""
    condition = _one(
        list((props.get("Predicate") or {}).get("Conditions") or []), f"trigger {rid}", "conditions"
    )
    watched, state = condition.get("JobName"), condition.get("State")
    if (
        watched not in ({"Ref": job.logical_id}, job.logical_id)
        or condition.get("LogicalOperator", "EQUALS") != "EQUALS"
    ):
        raise _refuse(f"trigger {rid}", f"its condition {condition} is not '{job.logical_id} EQUALS <state>'")
    if state not in WATCHABLE_JOB_STATES:
        raise _refuse(f"trigger {rid}", f"state {state!r} is not one of {', '.join(WATCHABLE_JOB_STATES)}")
    return str(state)


def _crawler(rid: str, props: Mapping[str, Any], template: Mapping[str, Any]) -> CrawlerSpec:
    action = _one(list(props.get("Actions") or []), f"trigger {rid}", "actions")
    crawler_id = _ref(action.get("CrawlerName"), properties_of_type(template, "AWS::Glue::Crawler"))
    if crawler_id is None:
        raise _refuse(f"trigger {rid}", f"its action {action} is not an AWS::Glue::Crawler of the template")
    try:
        return crawler_spec(template, crawler_id)
    except CrawlerSpecError as error:
        raise WorkflowError(str(error)) from error


def build_graph(template: Mapping[str, Any]) -> WorkflowGraph:
    """The template's workflow, refused in one line unless it has the shape of the module doc."""
    workflows = properties_of_type(template, "AWS::Glue::Workflow")
    workflow_id = _one(list(workflows), "the template", "AWS::Glue::Workflow resources")
    triggers = {
        rid: props
        for rid, props in properties_of_type(template, "AWS::Glue::Trigger").items()
        if _ref(props.get("WorkflowName"), workflows) == workflow_id
    }
    where = f"workflow {workflow_id}"
    starts = [rid for rid, p in triggers.items() if p.get("Type") in START_TRIGGER_TYPES]
    conditionals = [rid for rid, p in triggers.items() if p.get("Type") == "CONDITIONAL"]
    start_id = _one(starts, where, f"start triggers ({', '.join(starts) or 'none'})")
    crawl_id = _one(conditionals, where, f"CONDITIONAL triggers ({', '.join(conditionals) or 'none'})")
    if len(triggers) != 2:
        raise _refuse(where, f"triggers {', '.join(triggers)}")
    job = _start(start_id, triggers[start_id], properties_of_type(template, "AWS::Glue::Job"))
    crawl_on = _crawl_on(crawl_id, triggers[crawl_id], job)
    crawler = _crawler(crawl_id, triggers[crawl_id], template)
    return WorkflowGraph(
        workflow_id, start_id, str(triggers[start_id]["Type"]), job, crawl_id, crawl_on, crawler
    )


def load_workflow(template_path: str | Path = DEFAULT_TEMPLATE) -> WorkflowGraph:
    """Parse and check the workflow of a template file; every error is a WorkflowError naming the file."""
    try:
        return build_graph(load_template(template_path))
    except (WorkflowError, TemplateError) as error:
        raise WorkflowError(f"{template_path}: {error}") from error


# ---------------------------------------------------------------- running it


def run_workflow(
    graph: WorkflowGraph,
    run_job: Callable[[GlueJob], Any],
    run_crawler: Callable[[CrawlerSpec], Any],
    say: Callable[[str], None] | None = None,
) -> WorkflowRun:
    """One workflow run: the start trigger fires the job; the conditional trigger fires the crawler when the
    job ended in the watched state. ``say`` gets one line per event."""
    say = say or (lambda _line: None)
    run = WorkflowRun(graph.workflow_id)
    run.fired.append(graph.start_trigger)
    say(f"trigger {graph.start_trigger} ({graph.start_type}) fired -> {graph.job.logical_id}")
    job = _run_step(graph.job.logical_id, "job", graph.start_trigger, lambda: run_job(graph.job), say)
    run.steps.append(job)
    if job.state == graph.crawl_on:
        run.fired.append(graph.crawl_trigger)
        say(f"trigger {graph.crawl_trigger} (CONDITIONAL) fired -> {graph.crawler.logical_id}")
        crawler = graph.crawler
        run.steps.append(
            _run_step(crawler.logical_id, "crawler", graph.crawl_trigger, lambda: run_crawler(crawler), say)
        )
    return run


def _run_step(
    node: str, kind: str, via: str, action: Callable[[], Any], say: Callable[[str], None]
) -> StepResult:
    """Run one job or crawler; an exception makes it FAILED (a state of the run, not a crash of the runner)."""
    say(f"{kind} {node} started")
    started = time.monotonic()
    output, detail = None, None
    try:
        output = action()
    except Exception as error:
        detail = f"{type(error).__name__}: {error}\n{traceback.format_exc()}"
    state = "FAILED" if detail else "SUCCEEDED"
    result = StepResult(node, kind, via, state, time.monotonic() - started, output, detail)
    say(
        f"{kind} {node} {result.state} in {result.seconds:.1f}s"
        + (f": {result.error.splitlines()[0]}" if result.error else "")  # the run keeps the rest
    )
    return result


def bookmark_option(job: GlueJob) -> str:
    """The job's ``--job-bookmark-option`` default argument (Glue's default when absent: disabled)."""
    return str(job.default_arguments.get("--job-bookmark-option", "job-bookmark-disable"))
