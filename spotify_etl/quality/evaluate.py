"""Evaluate the rulesets of ``quality/`` on an engine: DuckDB on a lake's Parquet, or Spark on DataFrames.

An engine only runs Spark SQL text and returns rows; the translation and the verdicts
(:mod:`spotify_etl.quality.translate`) are the same for both, so both give the same outcome on the
same data (tested on one lake with each engine). Each table's row-by-row rules are one aggregation
(one scan, one Spark job), each grouping rule one query.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

import sqlglot

from spotify_etl.quality.dqdl import Rule, load_ruleset
from spotify_etl.quality.translate import TablePlan, TranslationError, plan, verdict

QUALITY_DIR = Path(__file__).resolve().parents[2] / "quality"


class Engine(Protocol):
    """Runs one Spark SQL query and returns its rows."""

    def rows(self, spark_sql: str) -> Sequence[Sequence[Any]]: ...


class DuckDbEngine:
    """DuckDB on views named like the tables; the Spark SQL is transpiled by sqlglot."""

    def __init__(self, con: Any) -> None:
        self.con = con

    def rows(self, spark_sql: str) -> Sequence[Sequence[Any]]:
        sql = sqlglot.transpile(spark_sql, read="spark", write="duckdb")[0]
        result: list[tuple[Any, ...]] = self.con.execute(sql).fetchall()
        return result


class SparkEngine:
    """Spark SQL on temporary views named like the tables (the caller registers them)."""

    def __init__(self, spark: Any) -> None:
        self.spark = spark

    def rows(self, spark_sql: str) -> Sequence[Sequence[Any]]:
        return [tuple(row) for row in self.spark.sql(spark_sql).collect()]


@dataclass(frozen=True)
class RuleResult:
    """The outcome of one rule: passed or not, the metric it observed, why it failed."""

    rule: Rule
    passed: bool
    observed: float | None
    message: str

    @property
    def outcome(self) -> str:
        return "PASS" if self.passed else "FAIL"

    @property
    def gates(self) -> bool:
        """A failed ERROR rule: the thing that stops a run (or makes ``spotify-etl quality`` exit 1)."""
        return not self.passed and self.rule.severity == "ERROR"


def load_rulesets(
    quality_dir: Path = QUALITY_DIR, tables: Iterable[str] | None = None
) -> dict[str, list[Rule]]:
    """Every ``<table>.dqdl`` of ``quality_dir`` (or just ``tables``), parsed: table -> rules."""
    wanted = set(tables) if tables is not None else None
    rulesets: dict[str, list[Rule]] = {}
    for path in sorted(quality_dir.glob("*.dqdl")):
        if wanted is None or path.stem in wanted:
            rulesets[path.stem] = load_ruleset(path)
    return rulesets


def _number(value: Any) -> float | None:
    return None if value is None else float(value)


def _scalar(engine: Engine, rule: Rule, sql: str) -> RuleResult:
    rows = engine.rows(sql)
    if len(rows) != 1 or len(rows[0]) != 1:
        return RuleResult(rule, False, None, "the statement must return one row of one value")
    try:
        observed = _number(rows[0][0])
    except (TypeError, ValueError):
        return RuleResult(rule, False, None, f"not a number: {rows[0][0]!r}")
    passed, message = verdict(rule, observed)
    return RuleResult(rule, passed, observed, message)


def evaluate_plan(engine: Engine, table_plan: TablePlan) -> list[RuleResult]:
    """Run one table's queries and judge each rule; results in the ruleset's order."""
    results: dict[Rule, RuleResult] = {}
    if table_plan.aggregation:
        (row,) = engine.rows(table_plan.aggregation)
        for rule, value in zip(table_plan.aggregated, row, strict=True):
            passed, message = verdict(rule, _number(value))
            results[rule] = RuleResult(rule, passed, _number(value), message)
    for rule, sql in table_plan.standalone:
        results[rule] = _scalar(engine, rule, sql)
    order = list(table_plan.aggregated) + [rule for rule, _ in table_plan.standalone]
    return sorted((results[r] for r in order), key=lambda result: result.rule.line)


def evaluate(engine: Engine, rulesets: dict[str, list[Rule]], clock: datetime) -> list[RuleResult]:
    """Evaluate every table's rules with ``now()`` = ``clock``; raises TranslationError on a bad rule."""
    plans = [plan(table, rules, clock) for table, rules in rulesets.items()]
    return [result for table_plan in plans for result in evaluate_plan(engine, table_plan)]


def format_results(results: list[RuleResult]) -> str:
    """One line per rule: table, severity, outcome, the rule, the observed metric."""
    lines = []
    for result in results:
        observed = "-" if result.observed is None else f"{result.observed:g}"
        why = f"  ({result.message})" if result.observed is None else ""
        lines.append(
            f"{result.rule.table:<19} {result.rule.severity:<5} {result.outcome}  "
            f"observed {observed:<10} {result.rule.text}{why}"
        )
    return "\n".join(lines)


__all__ = [
    "DuckDbEngine",
    "Engine",
    "RuleResult",
    "SparkEngine",
    "TranslationError",
    "evaluate",
    "load_rulesets",
]
