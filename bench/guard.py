"""The regression guard of ``make bench``: this run's figures against the committed baseline.

``bench/baseline.json`` (committed) holds, per Glue version and tier, the figures of a run that was accepted:
``make bench ... UPDATE_BASELINE=1`` writes them. Every later ``make bench`` prints its figures beside
them and exits 1 when one got worse by more than ``TOLERANCE`` (20 %) at the same tier.

Wall-clock seconds on a shared 2-core machine move with its load (the same M run took 46 s and 94 s at
about the same load average), so each figure has a kind that says how far to trust it:

- ``count``: Spark's own work from the event log (jobs, stages, tasks, shuffle bytes). The same code on
  the same data gives the same counts whatever the load: a rise is a change in the code, always a failure.
- ``ratio``: two times measured in the same ``make bench`` run, e.g. the transform over the DuckDB
  yardstick: load slows both, so the ratio moves much less than either. A rise past the tolerance fails.
- ``seconds``: the raw wall time. A rise past the tolerance fails, unless it is smaller than
  ``MIN_SECONDS_DELTA`` (a 0.7 s figure moving by 0.2 s is noise), or the machine was measurably busier than
  when the baseline was taken (1-minute load average higher by more than ``LOAD_SLACK``), or measurably
  slower: then it is reported as slower under load or on a slower machine, and the counts and ratios decide.
- ``yardstick``: the DuckDB script's wall time, the same work on the same data in every run, so it measures
  the machine, not the code. It is never a regression; its change over the baseline's is the machine's
  speed. A seconds figure whose rise is within the tolerance once the baseline is scaled by it (the baseline
  x this run's yardstick / the baseline's) is reported as slower on a slower machine: on 2026-12-06 a newly
  booted machine ran the same DuckDB script 37 % slower than the one the baseline was taken on, and the
  unchanged transform's 24 % rise failed ``make bench`` while its ratio to DuckDB improved. The rule only
  excuses: on a faster machine the baseline's seconds stand as they are.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from bench.report import section

BASELINE_JSON = Path(__file__).resolve().parent / "baseline.json"
TOLERANCE = 0.20
MIN_SECONDS_DELTA = 1.0
LOAD_SLACK = 1.0  # on 2 cores, one more runnable process on average is half the machine

Kind = Literal["count", "ratio", "seconds", "yardstick"]
Status = Literal["ok", "better", "slower under load", "slower machine", "REGRESSION"]
YARDSTICK = "DuckDB yardstick s"
Measured = tuple[float, float | None]  # (value, 1-minute load average when it was taken, if known)


@dataclass(frozen=True)
class Figure:
    """One figure of a tier's results that the guard compares."""

    name: str
    kind: Kind
    read: Callable[[Mapping[str, Any]], Measured | None]


def _get(result: Mapping[str, Any], *path: str) -> Any:
    node: Any = result
    for key in path:
        if not isinstance(node, Mapping) or key not in node:
            return None
        node = node[key]
    return node


def _wall(*path: str) -> Callable[[Mapping[str, Any]], Measured | None]:
    def read(result: Mapping[str, Any]) -> Measured | None:
        run = _get(result, *path)
        return None if run is None else (float(run["wall_seconds"]), run.get("load_1m"))

    return read


def _count(*path: str) -> Callable[[Mapping[str, Any]], Measured | None]:
    def read(result: Mapping[str, Any]) -> Measured | None:
        value = _get(result, *path)
        return None if value is None else (float(value), None)

    return read


def _plus_1_over_jvm(result: Mapping[str, Any]) -> Measured | None:
    plus_1, jvm = (
        _get(result, "incremental", "plus_1", "wall_seconds"),
        _get(result, "jvm_start", "wall_seconds"),
    )
    return None if plus_1 is None or not jvm else (round(plus_1 / jvm, 2), None)


FIGURES: tuple[Figure, ...] = (
    Figure("full transform s", "seconds", _wall("full_cold")),
    Figure("full transform / DuckDB", "ratio", _count("spark_over_duckdb")),
    Figure(YARDSTICK, "yardstick", _wall("duckdb")),
    Figure("full: Spark jobs", "count", _count("full_cold", "spark", "jobs")),
    Figure("full: Spark stages", "count", _count("full_cold", "spark", "stages")),
    Figure("full: Spark tasks", "count", _count("full_cold", "spark", "tasks")),
    Figure("full: shuffle MB", "count", _count("full_cold", "spark", "shuffle_write_mb")),
    Figure("+1 obs s", "seconds", _wall("incremental", "plus_1")),
    Figure("+1 obs / JVM start", "ratio", _plus_1_over_jvm),
    Figure("+1 obs: Spark jobs", "count", _count("incremental", "plus_1", "spark", "jobs")),
    Figure("+50 obs s", "seconds", _wall("incremental", "plus_50")),
    Figure("+50 obs: Spark jobs", "count", _count("incremental", "plus_50", "spark", "jobs")),
    Figure("nothing new s", "seconds", _wall("incremental", "nothing_new")),
)
_KINDS = {figure.name: figure.kind for figure in FIGURES}


def figures_of(tier_result: Mapping[str, Any]) -> dict[str, dict[str, float | None]]:
    """The guarded figures of one tier's results: ``{name: {"value": v, "load_1m": load or None}}``."""
    found = {}
    for figure in FIGURES:
        measured = figure.read(tier_result)
        if measured is not None:
            found[figure.name] = {"value": measured[0], "load_1m": measured[1]}
    return found


@dataclass(frozen=True)
class Verdict:
    """One figure of one tier: the baseline, this run, and what the guard makes of the difference."""

    tier: str
    figure: str
    kind: Kind
    baseline: float
    current: float
    status: Status

    @property
    def change(self) -> float:
        return self.current / self.baseline - 1 if self.baseline else 0.0


def judge(
    tier: str,
    name: str,
    baseline: Mapping[str, float | None],
    current: Mapping[str, float | None],
    machine_slowdown: float = 1.0,
) -> Verdict:
    """Compare one figure with its baseline (module docstring: the rule per kind). ``machine_slowdown``: how
    many times longer this run's yardstick took than the baseline's (1.0: unknown or not slower)."""
    kind = _KINDS[name]
    base, now = float(baseline["value"] or 0), float(current["value"] or 0)
    change = now / base - 1 if base else (1.0 if now > 0 else 0.0)
    status: Status = "ok"
    if kind == "yardstick":
        return Verdict(tier, name, kind, base, now, "slower machine" if change > TOLERANCE else "ok")
    if change < -TOLERANCE:
        status = "better"
    elif change > TOLERANCE:
        status = "REGRESSION"
        if kind == "seconds" and now - base < MIN_SECONDS_DELTA:
            status = "ok"
        elif kind == "seconds" and _busier(baseline.get("load_1m"), current.get("load_1m")):
            status = "slower under load"
        elif kind == "seconds" and now <= base * max(1.0, machine_slowdown) * (1 + TOLERANCE):
            status = "slower machine"
    return Verdict(tier, name, kind, base, now, status)


def machine_slowdown(
    baseline: Mapping[str, Mapping[str, float | None]], current: Mapping[str, Mapping[str, float | None]]
) -> float:
    """This run's yardstick over the baseline's (one tier's figures; 1.0 when either is unknown)."""
    now = (current.get(YARDSTICK) or {}).get("value")
    base = (_with_yardstick(baseline).get(YARDSTICK) or {}).get("value")
    return now / base if now and base else 1.0


def _with_yardstick(
    figures: Mapping[str, Mapping[str, float | None]],
) -> Mapping[str, Mapping[str, float | None]]:
    """A tier's figures with the yardstick; a baseline recorded before it was a figure gives it as its full
    transform over its ratio to DuckDB."""
    full = (figures.get("full transform s") or {}).get("value")
    ratio = (figures.get("full transform / DuckDB") or {}).get("value")
    if YARDSTICK in figures or not full or not ratio:
        return figures
    return {**figures, YARDSTICK: {"value": round(full / ratio, 2), "load_1m": None}}


def _busier(baseline_load: float | None, current_load: float | None) -> bool:
    return (
        baseline_load is not None and current_load is not None and current_load > baseline_load + LOAD_SLACK
    )


def compare(
    baseline: Mapping[str, Mapping[str, Mapping[str, float | None]]],
    current: Mapping[str, Mapping[str, Mapping[str, float | None]]],
) -> list[Verdict]:
    """Every figure present in both, tier by tier (``{tier: {figure: {"value", "load_1m"}}}``)."""
    verdicts = []
    for tier, figures in current.items():
        if tier not in baseline:
            continue
        base = _with_yardstick(baseline[tier])
        slowdown = machine_slowdown(base, figures)
        verdicts += [
            judge(tier, name, base[name], figures[name], slowdown)
            for name in (f.name for f in FIGURES)
            if name in figures and name in base
        ]
    return verdicts


def regressions(verdicts: list[Verdict]) -> list[Verdict]:
    return [v for v in verdicts if v.status == "REGRESSION"]


def load_baseline(path: Path, glue_version: str) -> dict[str, Any]:
    """The committed baseline of one Glue version: ``{tier: {"measured_at", "figures"}}`` ({} if none)."""
    if not path.exists():
        return {}
    return dict(json.loads(path.read_text(encoding="utf-8")).get(glue_version, {}))


def update_baseline(path: Path, glue_version: str, tiers: Mapping[str, Mapping[str, Any]]) -> None:
    """Record these tiers' figures as the new baseline of ``glue_version`` (other tiers and versions kept)."""
    everything = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    version = everything.setdefault(glue_version, {})
    for tier, result in tiers.items():
        version[tier] = {"measured_at": result.get("measured_at"), "figures": figures_of(result)}
    path.write_text(json.dumps(everything, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def markdown(verdicts: list[Verdict], baseline: Mapping[str, Any]) -> str:
    """The comparison as a markdown table, with when each tier's baseline was measured."""
    if not verdicts:
        return "\n### Against the baseline\n\nNo baseline for the measured tiers (bench/baseline.json).\n"
    lines = section(
        f"Against the baseline (bench/baseline.json; fails above +{TOLERANCE:.0%})",
        ["tier", "figure", "kind", "baseline", "this run", "change", "verdict"],
    )
    for v in verdicts:
        lines.append(
            f"| {v.tier} | {v.figure} | {v.kind} | {v.baseline:g} | {v.current:g} | {v.change:+.0%} | {v.status} |"
        )
    tiers = sorted({v.tier for v in verdicts}, key="SML".index)
    lines += ["", "Baseline measured: " + ", ".join(f"{t} {baseline[t].get('measured_at')}" for t in tiers)]
    return "\n".join(lines) + "\n"
