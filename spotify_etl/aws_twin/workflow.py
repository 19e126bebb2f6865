"""The local workflow runner: executes the Glue workflow *as the CloudFormation template declares it*.

The graph comes from the template (:mod:`spotify_etl.aws_twin.workflow_graph`: no second, hand-written DAG)
and runs with local implementations:

- an ``AWS::Glue::Job`` whose ``Command.ScriptLocation`` ends with ``transform_playlists.py`` -> the
  local transform (``run_local_transform``), honouring the job's ``--job-bookmark-option``;
- an ``AWS::Glue::Crawler`` -> the local crawler (``lake/catalog.duckdb``).

Semantics, as in Glue: the start trigger (the one trigger of type ON_DEMAND, SCHEDULED or EVENT)
fires first, once per call of :func:`run_workflow` (``make run`` calls it after each day's extract: an
EVENT trigger's batch of new raw objects, a SCHEDULED trigger's tick); when a job or crawler ends, every
CONDITIONAL trigger whose predicate now holds fires (``Logical: AND`` needs all conditions, ``ANY`` one); a
trigger fires at most once per run. A job that raises ends FAILED, so triggers waiting for SUCCEEDED do not
fire and the run is FAILED.

A graph is refused before anything runs (:class:`WorkflowError`) when it is broken (see workflow_graph) or
names a job without a local implementation.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from spotify_etl.aws_twin.workflow_graph import (
    GlueCrawler,
    GlueJob,
    Trigger,
    WorkflowError,
    WorkflowGraph,
    build_graph,
    load_workflow,
)
from spotify_etl.cfn_template import DEFAULT_TEMPLATE

__all__ = [  # the graph's names too: callers import the runner and the graph from here
    "DEFAULT_TEMPLATE",
    "GlueCrawler",
    "GlueJob",
    "StepResult",
    "WorkflowError",
    "WorkflowGraph",
    "WorkflowRun",
    "bookmark_option",
    "build_graph",
    "load_workflow",
    "local_implementations",
    "run_workflow",
]

TRANSFORM_SCRIPT = "transform_playlists.py"


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


Action = Callable[[], Any]
Progress = Callable[[str], None]


def run_workflow(
    graph: WorkflowGraph,
    implementations: Mapping[str, Action],
    progress: Progress | None = None,
) -> WorkflowRun:
    """Run one workflow run: fire the start trigger, then every conditional trigger whose predicate holds.

    Args:
        graph: a validated graph.
        implementations: logical id of each job/crawler -> a callable that runs it (its return value is
            kept as the step's output; an exception makes the step FAILED).
        progress: called with one line per event.
    """
    say = progress or (lambda _line: None)
    missing = [n for t in graph.triggers for n in t.actions if n not in implementations]
    if missing:
        raise WorkflowError(f"no local implementation for {', '.join(sorted(set(missing)))}")
    run = WorkflowRun(graph.workflow_id)
    finished: dict[str, str] = {}
    queue: list[tuple[str, str]] = []

    def fire(trigger: Trigger) -> None:
        run.fired.append(trigger.logical_id)
        say(f"trigger {trigger.logical_id} ({trigger.type}) fired -> {', '.join(trigger.actions)}")
        queue.extend((action, trigger.logical_id) for action in trigger.actions)

    fire(graph.start)
    while queue:
        node, via = queue.pop(0)
        if node in finished:
            continue
        kind = graph.kind(node)
        say(f"{kind} {node} started")
        result = _run_step(node, kind, via, implementations[node])
        run.steps.append(result)
        finished[node] = result.state
        say(
            f"{kind} {node} {result.state} in {result.seconds:.1f}s"
            + (f": {result.error.splitlines()[0]}" if result.error else "")  # the run keeps the rest
        )
        for trigger in graph.triggers:
            if (
                trigger.type == "CONDITIONAL"
                and trigger.logical_id not in run.fired
                and _holds(trigger, finished)
            ):
                fire(trigger)
    return run


def _run_step(node: str, kind: str, via: str, action: Action) -> StepResult:
    """Run one job or crawler; an exception makes it FAILED (a state of the run, not a crash of the runner)."""
    started = time.monotonic()
    try:
        output = action()
        return StepResult(node, kind, via, "SUCCEEDED", time.monotonic() - started, output)
    except Exception as error:
        detail = f"{type(error).__name__}: {error}"
        return StepResult(
            node,
            kind,
            via,
            "FAILED",
            time.monotonic() - started,
            None,
            detail + "\n" + traceback.format_exc(),
        )


def _holds(trigger: Trigger, finished: Mapping[str, str]) -> bool:
    """Whether a conditional trigger's predicate holds on the states of the steps finished so far."""
    checks = [finished.get(c.target) == c.state for c in trigger.conditions]
    return all(checks) if trigger.logical == "AND" else any(checks)


def local_implementations(
    graph: WorkflowGraph,
    *,
    run_transform: Callable[[GlueJob], Any],
    run_crawler: Callable[[GlueCrawler], Any],
) -> dict[str, Action]:
    """Map each job and crawler of the graph to its local implementation, or refuse the graph.

    A job is the transform when its ScriptLocation ends with ``transform_playlists.py``; any other
    job has no local implementation and the graph is refused before anything runs.
    """
    implementations: dict[str, Action] = {}
    in_workflow = {action for trigger in graph.triggers for action in trigger.actions}
    for rid, job in graph.jobs.items():
        if rid not in in_workflow:
            continue
        if not job.script_location.endswith(TRANSFORM_SCRIPT):
            raise WorkflowError(
                f"job {rid} runs {job.script_location or 'no script'!r}; the local runner only knows "
                f"{TRANSFORM_SCRIPT} (the transform)"
            )
        implementations[rid] = lambda job=job: run_transform(job)  # type: ignore[misc]
    for rid, crawler in graph.crawlers.items():
        if rid not in in_workflow:
            continue
        implementations[rid] = lambda crawler=crawler: run_crawler(crawler)  # type: ignore[misc]
    return implementations


def bookmark_option(job: GlueJob) -> str:
    """The job's ``--job-bookmark-option`` default argument (Glue's default when absent: disabled)."""
    return str(job.default_arguments.get("--job-bookmark-option", "job-bookmark-disable"))
