"""Evaluate the rulesets of ``quality/`` on an engine: DuckDB on a lake's Parquet, or Spark on DataFrames.

An engine only runs Spark SQL text and returns rows; the translation and the verdicts
(:mod:`spotify_etl.quality.translate`) are the same for both, so both give the same outcome on the
same data (tested on one lake with each engine). Each table's row-by-row and key rules are one aggregation
(one scan), each reference or CustomSql rule one query.
"""

from __future__ import annotations

import functools
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any, Protocol

import sqlglot

from spotify_etl.quality.dqdl import Rule, parse_ruleset
from spotify_etl.quality.translate import TablePlan, TranslationError, plan, verdict

# The one statement of where the rules live: ``quality/`` beside the ``spotify_etl`` package, in a checkout
# and at the root of the Glue job's library zip (``infra/scripts/package.py`` puts it there; the zip is on
# the job's sys.path as it is, so the folder is read through ``zipfile.Path``).
RULES_FOLDER = "quality"
_PACKAGE_PARENT = Path(__file__).resolve().parents[2]
QUALITY_DIR = _PACKAGE_PARENT / RULES_FOLDER


def rules_root(package_parent: Path = _PACKAGE_PARENT) -> Traversable:
    """The folder of ``<table>.dqdl`` files: a directory in a checkout, a folder of the zip on Glue."""
    if package_parent.is_dir():
        return package_parent / RULES_FOLDER
    return zipfile.Path(package_parent, f"{RULES_FOLDER}/")


class Engine(Protocol):
    """Runs one Spark SQL query and returns its rows."""

    def rows(self, spark_sql: str) -> Sequence[Sequence[Any]]: ...


class DuckDbEngine:
    """DuckDB on views named like the tables; the Spark SQL is transpiled by sqlglot."""

    def __init__(self, con: Any) -> None:
        self.con = con

    def rows(self, spark_sql: str) -> Sequence[Sequence[Any]]:
        result: list[tuple[Any, ...]] = self.con.execute(_duckdb_sql(spark_sql)).fetchall()
        return result


# The rules' queries are the same texts at every evaluation (one per table and one per reference or CustomSql
# rule, whatever the number of runs); 1,024 is far above what the rulesets hold.
@functools.lru_cache(maxsize=1024)
def _duckdb_sql(spark_sql: str) -> str:
    """A rule's Spark SQL as DuckDB SQL (sqlglot: about 8 ms per query, the same text every evaluation)."""
    return sqlglot.transpile(spark_sql, read="spark", write="duckdb")[0]


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
    quality_dir: Traversable | None = None, tables: Iterable[str] | None = None
) -> dict[str, list[Rule]]:
    """Every ``<table>.dqdl`` of ``quality_dir`` (default :func:`rules_root`; or just ``tables``), parsed:
    table -> rules."""
    folder = rules_root() if quality_dir is None else quality_dir
    wanted = set(tables) if tables is not None else None
    rulesets: dict[str, list[Rule]] = {}
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        table = entry.name.removesuffix(".dqdl")
        if entry.name.endswith(".dqdl") and (wanted is None or table in wanted):
            origin = str(entry)  # the file as the user named its folder
            rulesets[table] = parse_ruleset(entry.read_text(encoding="utf-8"), table, origin)
    return rulesets


def _number(value: Any) -> float | None:
    return None if value is None else float(value)


def _scalar(engine: Engine, rule: Rule, sql: str) -> RuleResult:
    rows = engine.rows(sql)
    if len(rows) != 1 or len(rows[0]) != 1:
        return RuleResult(rule, False, None, "the statement must return one row of one value")
    return _judged(rule, rows[0][0])


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


def batched_query(plans: Sequence[TablePlan]) -> str:
    """Every plan's metrics as one statement of one row: each table's aggregation a one-row relation (the
    relations cross-joined), each reference or CustomSql rule a scalar subquery; the values in plan order."""
    relations = [f"({p.aggregation}) a{i}" for i, p in enumerate(plans) if p.aggregation]
    columns = [f"a{i}.*" for i, p in enumerate(plans) if p.aggregation]
    queries = [sql for p in plans for _, sql in p.standalone]
    columns += [f"({sql}) AS s{j}" for j, sql in enumerate(queries)]
    return f"SELECT {', '.join(columns)} FROM {' CROSS JOIN '.join(relations) or '(SELECT 1) one'}"


def _judged(rule: Rule, value: Any) -> RuleResult:
    try:
        observed = _number(value)
    except (TypeError, ValueError):
        return RuleResult(rule, False, None, f"not a number: {value!r}")
    passed, message = verdict(rule, observed)
    return RuleResult(rule, passed, observed, message)


def evaluate_batched(engine: Engine, rulesets: dict[str, list[Rule]], clock: datetime) -> list[RuleResult]:
    """:func:`evaluate` in one statement (one action: Spark runs the scalar subqueries side by side), for the
    transform's gate. A statement the batch cannot hold (a CustomSql of more than one row or column) makes
    the batch fail; the rules are then evaluated one query each, so that rule gets its own message."""
    plans = [plan(table, rules, clock) for table, rules in rulesets.items()]
    if not plans:
        return []
    try:
        (row,) = engine.rows(batched_query(plans))
    except Exception:  # evaluated again query by query, which names the rule that fails
        return [result for table_plan in plans for result in evaluate_plan(engine, table_plan)]
    values = iter(row)
    judged = {rule: _judged(rule, next(values)) for p in plans for rule in p.aggregated}
    judged |= {rule: _judged(rule, next(values)) for p in plans for rule, _ in p.standalone}
    return [
        judged[rule]
        for p in plans
        for rule in sorted([*p.aggregated, *(r for r, _ in p.standalone)], key=lambda r: r.line)
    ]


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
