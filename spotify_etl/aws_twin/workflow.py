"""The local workflow runner: executes the Glue workflow *as the CloudFormation template declares it*.

There is no second, hand-written DAG. The runner reads ``infra/cloudformation/template.yaml``, finds
the ``AWS::Glue::Workflow``, the ``AWS::Glue::Trigger`` resources that belong to it (``WorkflowName``),
their actions and predicates, and the jobs and crawlers they name (``!Ref`` resolved to logical ids,
or a literal ``Name``), and runs that graph with local implementations:

- an ``AWS::Glue::Job`` whose ``Command.ScriptLocation`` ends with ``transform_playlists.py`` -> the
  local transform (``run_local_transform``), honouring the job's ``--job-bookmark-option``;
- an ``AWS::Glue::Crawler`` -> the local crawler (``lake/catalog.duckdb``).

Semantics, as in Glue: the start trigger (the one trigger of type ON_DEMAND, SCHEDULED or EVENT)
fires first, once per call of :func:`run_workflow` (``make run`` calls it after each day's extract: an
EVENT trigger's batch of new raw objects, a SCHEDULED trigger's tick); when a job or crawler ends, every CONDITIONAL trigger whose predicate now holds fires
(``Logical: AND`` needs all conditions, ``ANY`` one); a trigger fires at most once per run. A job
that raises ends FAILED, so triggers waiting for SUCCEEDED do not fire and the run is FAILED.

A broken graph is refused before anything runs (:class:`WorkflowError`): a trigger that names an
unknown job or crawler, a cycle, no path from the start trigger to a crawler, a job without a local
implementation, no or several start triggers.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from spotify_etl.aws_twin.crawler_spec import CrawlerSpec, CrawlerSpecError, crawler_spec

JOB = "AWS::Glue::Job"
CRAWLER = "AWS::Glue::Crawler"
TRIGGER = "AWS::Glue::Trigger"
WORKFLOW = "AWS::Glue::Workflow"
START_TRIGGER_TYPES = ("ON_DEMAND", "SCHEDULED", "EVENT")
JOB_STATES: tuple[str, ...] = ("SUCCEEDED", "FAILED", "STOPPED", "TIMEOUT", "ERROR")
CRAWL_STATES: tuple[str, ...] = ("SUCCEEDED", "FAILED", "CANCELLED", "ERROR")
TRANSFORM_SCRIPT = "transform_playlists.py"
DEFAULT_TEMPLATE = Path(__file__).resolve().parents[2] / "infra" / "cloudformation" / "template.yaml"


class WorkflowError(ValueError):
    """The template's workflow graph is broken or cannot run locally; the message says where."""


# ---------------------------------------------------------------- template parsing


class _CfnLoader(yaml.SafeLoader):
    """A YAML loader that understands CloudFormation's short-form tags (``!Ref``, ``!Sub``, ...)."""


def _cfn_tag(loader: yaml.SafeLoader, tag_suffix: str, node: yaml.Node) -> Any:
    name = "Ref" if tag_suffix == "Ref" else f"Fn::{tag_suffix}"
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
        if tag_suffix == "GetAtt":
            value = str(value).split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    return {name: value}


_CfnLoader.add_multi_constructor("!", _cfn_tag)


def load_template(path: str | Path) -> dict[str, Any]:
    """Parse a CloudFormation template (YAML or JSON) with short-form tags as their long forms."""
    template_path = Path(path)
    if not template_path.is_file():
        raise WorkflowError(f"no CloudFormation template at {template_path}")
    try:
        document = yaml.load(template_path.read_text(encoding="utf-8"), Loader=_CfnLoader)
    except yaml.YAMLError as error:
        raise WorkflowError(f"{template_path} is not valid YAML: {error}") from error
    if not isinstance(document, dict) or not isinstance(document.get("Resources"), dict):
        raise WorkflowError(f"{template_path} has no Resources section")
    return document


def _text(value: Any) -> str | None:
    """A literal string, or the template string of ``Fn::Sub``; None for anything else."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and "Fn::Sub" in value:
        sub = value["Fn::Sub"]
        return sub if isinstance(sub, str) else str(sub[0]) if isinstance(sub, list) and sub else None
    return None


# ---------------------------------------------------------------- the graph


@dataclass(frozen=True)
class GlueJob:
    logical_id: str
    script_location: str
    default_arguments: Mapping[str, Any]


@dataclass(frozen=True)
class GlueCrawler:
    logical_id: str
    spec: CrawlerSpec


@dataclass(frozen=True)
class Condition:
    kind: str  # "job" or "crawler"
    target: str  # logical id
    state: str


@dataclass(frozen=True)
class Trigger:
    logical_id: str
    type: str
    logical: str  # AND or ANY
    conditions: tuple[Condition, ...]
    actions: tuple[str, ...]  # logical ids of jobs and crawlers


@dataclass(frozen=True)
class WorkflowGraph:
    workflow_id: str
    start: Trigger
    triggers: tuple[Trigger, ...]
    jobs: Mapping[str, GlueJob]
    crawlers: Mapping[str, GlueCrawler]

    def kind(self, node: str) -> str:
        return "job" if node in self.jobs else "crawler"

    def describe(self) -> str:
        """One line per trigger: ``Trigger (TYPE[, when ...]) -> actions``."""
        lines = []
        for trigger in (self.start, *(t for t in self.triggers if t is not self.start)):
            when = f" when {f' {trigger.logical} '.join(f'{c.target} {c.state}' for c in trigger.conditions)}"
            lines.append(
                f"{trigger.logical_id} ({trigger.type}{when if trigger.conditions else ''}) -> "
                + ", ".join(f"{self.kind(a)} {a}" for a in trigger.actions)
            )
        return "\n".join(lines)


def _resolve_name(value: Any, named: Mapping[str, str], kind: str, where: str) -> str:
    """``!Ref X`` -> X; a literal name -> the logical id of the resource with that ``Name``."""
    if isinstance(value, dict) and "Ref" in value:
        return str(value["Ref"])
    if isinstance(value, str):
        return named.get(value, value)
    raise WorkflowError(
        f"{where}: cannot resolve the {kind} it names ({value!r}); use !Ref or a literal name"
    )


def build_graph(template: Mapping[str, Any], workflow: str | None = None) -> WorkflowGraph:
    """The workflow graph of a parsed template, validated (see module doc for what is refused)."""
    resources: Mapping[str, Any] = template.get("Resources") or {}

    def of_type(kind: str) -> dict[str, Mapping[str, Any]]:
        return {
            rid: (res.get("Properties") or {})
            for rid, res in resources.items()
            if isinstance(res, dict) and res.get("Type") == kind
        }

    workflows = of_type(WORKFLOW)
    if not workflows:
        raise WorkflowError("the template declares no AWS::Glue::Workflow")
    if workflow is None:
        if len(workflows) > 1:
            raise WorkflowError(
                f"the template declares several workflows ({', '.join(workflows)}); choose one"
            )
        workflow = next(iter(workflows))
    if workflow not in workflows:
        raise WorkflowError(
            f"no AWS::Glue::Workflow {workflow!r} in the template (found {', '.join(workflows)})"
        )
    workflow_names = {_text(p.get("Name")): rid for rid, p in workflows.items() if _text(p.get("Name"))}

    jobs_props, crawler_props = of_type(JOB), of_type(CRAWLER)
    job_names = {str(_text(p.get("Name"))): rid for rid, p in jobs_props.items() if _text(p.get("Name"))}
    crawler_names = {
        str(_text(p.get("Name"))): rid for rid, p in crawler_props.items() if _text(p.get("Name"))
    }

    targets = {  # the key an action or condition uses -> (kind, type, names, resources of that type)
        "JobName": ("job", JOB, job_names, jobs_props),
        "CrawlerName": ("crawler", CRAWLER, crawler_names, crawler_props),
    }

    def target_of(entry: Mapping[str, Any], where: str, verb: str) -> tuple[str, str]:
        """(kind, logical id) of the job or crawler that an action or a condition names."""
        for key, (kind, resource_type, names, known) in targets.items():
            if key in entry:
                target = _resolve_name(entry[key], names, kind, where)
                if target not in known:
                    raise WorkflowError(
                        f"{where} {verb} {kind} {target!r}, which is not an {resource_type} in the template "
                        f"({kind}s: {', '.join(known) or 'none'})"
                    )
                return kind, target
        raise WorkflowError(f"{where} {verb} neither a JobName nor a CrawlerName")

    triggers: list[Trigger] = []
    for rid, props in of_type(TRIGGER).items():
        owner = props.get("WorkflowName")
        if owner is None:
            continue
        owner_id = _resolve_name(owner, workflow_names, "workflow", f"trigger {rid}")  # type: ignore[arg-type]
        if owner_id != workflow:
            continue
        trigger_type = str(props.get("Type", ""))
        actions = [
            target_of(action, f"trigger {rid}, action {i + 1}", "names")[1]
            for i, action in enumerate(props.get("Actions") or [])
        ]
        if not actions:
            raise WorkflowError(f"trigger {rid} has no actions")
        conditions = []
        predicate = props.get("Predicate") or {}
        if trigger_type == "CONDITIONAL":
            for i, cond in enumerate(predicate.get("Conditions") or []):
                where = f"trigger {rid}, condition {i + 1}"
                kind, target = target_of(cond, where, "watches")
                state, states = (
                    (cond.get("State"), JOB_STATES)
                    if kind == "job"
                    else (cond.get("CrawlState"), CRAWL_STATES)
                )
                if state not in states:
                    raise WorkflowError(f"{where}: state {state!r} is not one of {', '.join(states)}")
                if cond.get("LogicalOperator", "EQUALS") != "EQUALS":
                    raise WorkflowError(f"{where}: LogicalOperator must be EQUALS")
                conditions.append(Condition(kind, target, str(state)))
            if not conditions:
                raise WorkflowError(f"CONDITIONAL trigger {rid} has no Predicate.Conditions")
        elif trigger_type not in START_TRIGGER_TYPES:
            raise WorkflowError(
                f"trigger {rid} has type {trigger_type!r}, not one of CONDITIONAL, {', '.join(START_TRIGGER_TYPES)}"
            )
        logical = str(predicate.get("Logical", "AND"))
        if logical not in ("AND", "ANY"):
            raise WorkflowError(f"trigger {rid}: Predicate.Logical {logical!r} is not AND or ANY")
        triggers.append(Trigger(rid, trigger_type, logical, tuple(conditions), tuple(actions)))

    starts = [t for t in triggers if t.type in START_TRIGGER_TYPES]
    if not starts:
        raise WorkflowError(
            f"workflow {workflow} has no start trigger (a trigger of type {', '.join(START_TRIGGER_TYPES)})"
        )
    if len(starts) > 1:
        raise WorkflowError(
            f"workflow {workflow} has several start triggers ({', '.join(t.logical_id for t in starts)}); Glue allows one"
        )
    jobs = {
        rid: GlueJob(
            rid,
            _text((p.get("Command") or {}).get("ScriptLocation")) or "",
            dict(p.get("DefaultArguments") or {}),
        )
        for rid, p in jobs_props.items()
    }
    try:
        crawlers = {rid: GlueCrawler(rid, crawler_spec(template, rid)) for rid in crawler_props}
    except CrawlerSpecError as error:
        raise WorkflowError(str(error)) from error
    graph = WorkflowGraph(workflow, starts[0], tuple(triggers), jobs, crawlers)
    _check_acyclic(graph)
    _check_reaches_crawler(graph)
    return graph


def _edges(graph: WorkflowGraph) -> dict[str, list[tuple[str, str]]]:
    """node -> [(next node, via trigger)] for every conditional trigger watching the node."""
    edges: dict[str, list[tuple[str, str]]] = {}
    for trigger in graph.triggers:
        for cond in trigger.conditions:
            for action in trigger.actions:
                edges.setdefault(cond.target, []).append((action, trigger.logical_id))
    return edges


def _check_acyclic(graph: WorkflowGraph) -> None:
    edges = _edges(graph)
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt, via in edges.get(node, []):
            if state.get(nxt) == 1:
                cycle = [*path[path.index(nxt) :], nxt] if nxt in path else [node, nxt]
                raise WorkflowError(
                    f"workflow {graph.workflow_id} has a cycle: {' -> '.join(cycle)} (closed by trigger {via})"
                )
            if state.get(nxt) is None:
                visit(nxt, [*path, nxt])
        state[node] = 2

    for node in sorted(edges):
        if state.get(node) is None:
            visit(node, [node])


def _check_reaches_crawler(graph: WorkflowGraph) -> None:
    edges = _edges(graph)
    seen: set[str] = set()
    frontier = list(graph.start.actions)
    while frontier:
        node = frontier.pop()
        if node in seen:
            continue
        seen.add(node)
        frontier.extend(nxt for nxt, _ in edges.get(node, []))
    if not any(node in graph.crawlers for node in seen):
        raise WorkflowError(
            f"workflow {graph.workflow_id}: no path from the start trigger {graph.start.logical_id} to a crawler "
            f"(it reaches {', '.join(sorted(seen)) or 'nothing'}); the curated tables would never be catalogued"
        )


def load_workflow(template_path: str | Path = DEFAULT_TEMPLATE, workflow: str | None = None) -> WorkflowGraph:
    """Parse and validate the workflow of a template file."""
    try:
        return build_graph(load_template(template_path), workflow)
    except WorkflowError as error:
        raise WorkflowError(f"{template_path}: {error}") from error


# ---------------------------------------------------------------- execution


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
        started = time.monotonic()
        try:
            output = implementations[node]()
            result = StepResult(node, kind, via, "SUCCEEDED", time.monotonic() - started, output)
        except Exception as error:  # a failed job is a state of the run, not a crash of the runner
            detail = f"{type(error).__name__}: {error}"
            result = StepResult(
                node,
                kind,
                via,
                "FAILED",
                time.monotonic() - started,
                None,
                detail + "\n" + traceback.format_exc(),
            )
        run.steps.append(result)
        finished[node] = result.state
        say(
            f"{kind} {node} {result.state} in {result.seconds:.1f}s"
            + (f": {result.error}" if result.error else "")
        )
        for trigger in graph.triggers:
            if trigger.type != "CONDITIONAL" or trigger.logical_id in run.fired:
                continue
            checks = [finished.get(c.target) == c.state for c in trigger.conditions]
            if all(checks) if trigger.logical == "AND" else any(checks):
                fire(trigger)
    return run


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
