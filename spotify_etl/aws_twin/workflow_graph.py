"""The Glue workflow graph *as the CloudFormation template declares it*, read and validated.

There is no second, hand-written DAG. :func:`build_graph` reads ``infra/cloudformation/template.yaml``
(through :mod:`spotify_etl.cfn_template`), finds the ``AWS::Glue::Workflow``, the ``AWS::Glue::Trigger``
resources that belong to it (``WorkflowName``), their actions and predicates, and the jobs and crawlers they
name (``!Ref`` resolved to logical ids, or a literal ``Name``). :mod:`spotify_etl.aws_twin.workflow` runs it.

A broken graph is refused before anything runs (:class:`WorkflowError`): a trigger that names an
unknown job or crawler, a cycle, no path from the start trigger to a crawler, no or several start triggers.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
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

JOB = "AWS::Glue::Job"
CRAWLER = "AWS::Glue::Crawler"
TRIGGER = "AWS::Glue::Trigger"
WORKFLOW = "AWS::Glue::Workflow"
START_TRIGGER_TYPES = ("ON_DEMAND", "SCHEDULED", "EVENT")
JOB_STATES: tuple[str, ...] = ("SUCCEEDED", "FAILED", "STOPPED", "TIMEOUT", "ERROR")
CRAWL_STATES: tuple[str, ...] = ("SUCCEEDED", "FAILED", "CANCELLED", "ERROR")


class WorkflowError(ValueError):
    """The template's workflow graph is broken or cannot run locally; the message says where."""


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


# ---------------------------------------------------------------- reading the template


def _resolve_name(value: Any, named: Mapping[str, str], kind: str, where: str) -> str:
    """``!Ref X`` -> X; a literal name -> the logical id of the resource with that ``Name``."""
    if isinstance(value, dict) and "Ref" in value:
        return str(value["Ref"])
    if isinstance(value, str):
        return named.get(value, value)
    raise WorkflowError(
        f"{where}: cannot resolve the {kind} it names ({value!r}); use !Ref or a literal name"
    )


def _by_name(props_by_id: Mapping[str, Mapping[str, Any]]) -> dict[str, str]:
    """``Name`` (literal or ``!Sub`` text) -> logical id, for the resources that declare one."""
    return {str(sub_text(p.get("Name"))): rid for rid, p in props_by_id.items() if sub_text(p.get("Name"))}


def _choose_workflow(template: Mapping[str, Any], workflow: str | None) -> tuple[str, dict[str, str]]:
    """The logical id of the workflow to run (the only one when None) and every workflow's name -> id."""
    workflows = properties_of_type(template, WORKFLOW)
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
    return workflow, _by_name(workflows)


class _Targets:
    """The jobs and crawlers of a template, by logical id and by name: what actions and conditions name."""

    def __init__(self, template: Mapping[str, Any]) -> None:
        self.jobs = properties_of_type(template, JOB)
        self.crawlers = properties_of_type(template, CRAWLER)
        self._by_key = {  # the key an action or condition uses -> (kind, type, names, resources of that type)
            "JobName": ("job", JOB, _by_name(self.jobs), self.jobs),
            "CrawlerName": ("crawler", CRAWLER, _by_name(self.crawlers), self.crawlers),
        }

    def target_of(self, entry: Mapping[str, Any], where: str, verb: str) -> tuple[str, str]:
        """(kind, logical id) of the job or crawler that an action or a condition names."""
        for key, (kind, resource_type, names, known) in self._by_key.items():
            if key in entry:
                target = _resolve_name(entry[key], names, kind, where)
                if target not in known:
                    raise WorkflowError(
                        f"{where} {verb} {kind} {target!r}, which is not an {resource_type} in the template "
                        f"({kind}s: {', '.join(known) or 'none'})"
                    )
                return kind, target
        raise WorkflowError(f"{where} {verb} neither a JobName nor a CrawlerName")


def _condition(cond: Mapping[str, Any], where: str, targets: _Targets) -> Condition:
    kind, target = targets.target_of(cond, where, "watches")
    state, states = (
        (cond.get("State"), JOB_STATES) if kind == "job" else (cond.get("CrawlState"), CRAWL_STATES)
    )
    if state not in states:
        raise WorkflowError(f"{where}: state {state!r} is not one of {', '.join(states)}")
    if cond.get("LogicalOperator", "EQUALS") != "EQUALS":
        raise WorkflowError(f"{where}: LogicalOperator must be EQUALS")
    return Condition(kind, target, str(state))


def _trigger(rid: str, props: Mapping[str, Any], targets: _Targets) -> Trigger:
    """One trigger of the workflow: its actions, and for a CONDITIONAL trigger its predicate, checked."""
    trigger_type = str(props.get("Type", ""))
    actions = [
        targets.target_of(action, f"trigger {rid}, action {i + 1}", "names")[1]
        for i, action in enumerate(props.get("Actions") or [])
    ]
    if not actions:
        raise WorkflowError(f"trigger {rid} has no actions")
    conditions: list[Condition] = []
    predicate = props.get("Predicate") or {}
    if trigger_type == "CONDITIONAL":
        conditions = [
            _condition(cond, f"trigger {rid}, condition {i + 1}", targets)
            for i, cond in enumerate(predicate.get("Conditions") or [])
        ]
        if not conditions:
            raise WorkflowError(f"CONDITIONAL trigger {rid} has no Predicate.Conditions")
    elif trigger_type not in START_TRIGGER_TYPES:
        raise WorkflowError(
            f"trigger {rid} has type {trigger_type!r}, not one of CONDITIONAL, {', '.join(START_TRIGGER_TYPES)}"
        )
    logical = str(predicate.get("Logical", "AND"))
    if logical not in ("AND", "ANY"):
        raise WorkflowError(f"trigger {rid}: Predicate.Logical {logical!r} is not AND or ANY")
    return Trigger(rid, trigger_type, logical, tuple(conditions), tuple(actions))


def _workflow_triggers(
    template: Mapping[str, Any], workflow: str, workflow_names: Mapping[str, str], targets: _Targets
) -> list[Trigger]:
    """The triggers whose ``WorkflowName`` is the workflow, in template order."""
    triggers = []
    for rid, props in properties_of_type(template, TRIGGER).items():
        owner = props.get("WorkflowName")
        if owner is None:
            continue
        if _resolve_name(owner, workflow_names, "workflow", f"trigger {rid}") != workflow:
            continue
        triggers.append(_trigger(rid, props, targets))
    return triggers


def _start_trigger(workflow: str, triggers: list[Trigger]) -> Trigger:
    starts = [t for t in triggers if t.type in START_TRIGGER_TYPES]
    if not starts:
        raise WorkflowError(
            f"workflow {workflow} has no start trigger (a trigger of type {', '.join(START_TRIGGER_TYPES)})"
        )
    if len(starts) > 1:
        raise WorkflowError(
            f"workflow {workflow} has several start triggers ({', '.join(t.logical_id for t in starts)}); Glue allows one"
        )
    return starts[0]


def _jobs(targets: _Targets) -> dict[str, GlueJob]:
    return {
        rid: GlueJob(
            rid,
            sub_text((p.get("Command") or {}).get("ScriptLocation")) or "",
            dict(p.get("DefaultArguments") or {}),
        )
        for rid, p in targets.jobs.items()
    }


def _crawlers(template: Mapping[str, Any], targets: _Targets) -> dict[str, GlueCrawler]:
    try:
        return {rid: GlueCrawler(rid, crawler_spec(template, rid)) for rid in targets.crawlers}
    except CrawlerSpecError as error:
        raise WorkflowError(str(error)) from error


def build_graph(template: Mapping[str, Any], workflow: str | None = None) -> WorkflowGraph:
    """The workflow graph of a parsed template, validated (see module doc for what is refused)."""
    workflow_id, workflow_names = _choose_workflow(template, workflow)
    targets = _Targets(template)
    triggers = _workflow_triggers(template, workflow_id, workflow_names, targets)
    start = _start_trigger(workflow_id, triggers)
    graph = WorkflowGraph(workflow_id, start, tuple(triggers), _jobs(targets), _crawlers(template, targets))
    _check_acyclic(graph)
    _check_reaches_crawler(graph)
    return graph


# ---------------------------------------------------------------- checks of the whole graph


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
    """Parse and validate the workflow of a template file; every error is a WorkflowError naming the file."""
    try:
        return build_graph(load_template(template_path), workflow)
    except (WorkflowError, TemplateError) as error:
        raise WorkflowError(f"{template_path}: {error}") from error
