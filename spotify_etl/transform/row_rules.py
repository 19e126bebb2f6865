"""The gate's row-level rules, and the batch's new rows observed against them while the stage writes them.

A row-level ERROR rule is one that rows of a single raw object can break on their own (docs/transform.md,
"The gate"). Those that test one row at a time (``IsComplete``, ``ColumnValues`` without a threshold) are
judged on every new row of the batch *before the merge*, so that whether an object breaks one depends on the
object alone, never on which other objects share its run (docs/design.md I1): a breaking row that a newer
observation replaces in the merge still names its object.

That costs no Spark job of its own. Each table's new rows carry a Spark observation (``Dataset.observe``,
https://spark.apache.org/docs/3.5.4/api/python/reference/pyspark.sql/api/pyspark.sql.DataFrame.observe.html):
per rule, the distinct ``source_file`` of the rows that break it, an aggregate Spark computes in the stage's
own write job and hands to the driver when the write has finished. Its memory is one set of object names per
rule, at most the batch's objects. Spark hands the metrics over on its listener bus, a moment after the write
returns, and never when the observed rows were not computed (a plan the optimizer proved empty, a table left
unwritten), where ``Observation.get`` waits forever. So the driver never calls it blindly: it polls whether
the metrics have arrived (:func:`_delivered`), for at most ``_WAIT_SECONDS``, and runs the same aggregate as
a query of its own for an observation that has not: slower, never wrong, and no thread left waiting.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import datetime

from py4j.protocol import Py4JError
from pyspark.sql import Column, DataFrame, Observation
from pyspark.sql import functions as F

from spotify_etl.quality.dqdl import Condition, Rule
from spotify_etl.quality.translate import broken_row_condition
from spotify_etl.sparkutil import spark_major_version
from spotify_etl.transform.isolate import TableBuilder

_ROW_LEVEL_TYPES = ("IsComplete", "ColumnValues")
_WAIT_SECONDS = 10.0
_POLL_SECONDS = 0.02
_SPARK_MAJOR = spark_major_version()


def is_row_level(rule: Rule) -> bool:
    """An ERROR rule that rows of one raw object can break on their own: traced to the objects whose rows
    break it. A ``ReferentialIntegrity`` rule only when it asks for every row (``= 1.0``, ``>= 1.0``): a
    rule that tolerates a share of dangling rows is a table-level rule."""
    if rule.severity != "ERROR":
        return False
    if rule.rule_type == "ReferentialIntegrity":
        return _asks_every_row(rule.condition)
    return rule.rule_type in _ROW_LEVEL_TYPES and rule.threshold is None


def _asks_every_row(condition: Condition | None) -> bool:
    if condition is None or condition.op not in ("=", ">=") or len(condition.operands) != 1:
        return False
    operand = condition.operands[0]
    return operand.kind == "number" and float(operand.value) == 1.0


@dataclass(frozen=True)
class _Watch:
    """One table's new rows of one staging, and the observation attached to them."""

    rules: list[Rule]
    metrics: list[Column]
    rows_df: DataFrame  # without the observation: the fallback's query
    observation: Observation


class RowObserver:
    """Attach the row rules to every table a staging builds; after it, the objects whose new rows broke one.

    Only the last staging counts (each call of the builder starts afresh): the bisection's probes and a
    failed attempt are staged before the staging that is kept.
    """

    def __init__(self, rulesets: dict[str, list[Rule]], clock: datetime) -> None:
        self.rules = {
            table: [rule for rule in rules if is_row_level(rule) and rule.rule_type != "ReferentialIntegrity"]
            for table, rules in rulesets.items()
        }
        self.clock = clock
        self._watches: list[_Watch] = []

    def observing(self, build_tables: TableBuilder) -> TableBuilder:
        """``build_tables``, with each table's rows observed against its row rules."""
        if not any(self.rules.values()):
            return build_tables

        def build(observations_df: DataFrame) -> dict[str, DataFrame]:
            self._watches = []
            return {
                table: self._watch(table, rows_df) for table, rows_df in build_tables(observations_df).items()
            }

        return build

    def _watch(self, table: str, rows_df: DataFrame) -> DataFrame:
        rules = self.rules.get(table)
        if not rules:
            return rows_df
        # one SQL expression per rule: a Column built call by call costs a py4j round trip per function,
        # each looking the function up by name in the JVM, for every table of every staging
        metrics = [
            F.expr(
                f"to_json(collect_set(CASE WHEN {broken_row_condition(rule, self.clock)} THEN source_file END))"
                f" AS {_metric(i)}"
            )
            for i, rule in enumerate(rules)
        ]
        observation = Observation()
        self._watches.append(_Watch(rules, metrics, rows_df, observation))
        return rows_df.observe(observation, *metrics)

    def broken(self) -> dict[Rule, set[str]]:
        """Per rule, the objects whose new rows of the last staging break it (only rules some row broke)."""
        deadline = time.monotonic() + _WAIT_SECONDS
        pending = list(self._watches)
        while pending and time.monotonic() < deadline:
            pending = [watch for watch in pending if not _delivered(watch.observation)]
            if pending:
                time.sleep(_POLL_SECONDS)
        # by identity: a watch holds Columns, whose == builds an expression
        undelivered = {id(watch) for watch in pending}
        broken: dict[Rule, set[str]] = {}
        for watch in self._watches:
            values = _queried(watch) if id(watch) in undelivered else _observed(watch)
            for i, rule in enumerate(watch.rules):
                sources = set(json.loads(values.get(_metric(i)) or "[]"))
                if sources:
                    broken[rule] = sources
        return broken


def _queried(watch: _Watch) -> dict[str, str | None]:
    """The observation's aggregate as a query of its own: for an observation Spark has not delivered."""
    row = watch.rows_df.agg(*watch.metrics).first()
    return row.asDict() if row is not None else {}


def _observed(watch: _Watch) -> dict[str, str | None]:
    """The delivered observation's metrics by name. PySpark 3.5's ``Observation.get`` walks the Java map with
    py4j's iterator, which stops on a Java exception that PySpark converts on the way (about 50 py4j round trips,
    some 17 ms in a warm session, per table per staging): each metric is read by its name instead, one round trip
    each. PySpark 4 hands the metrics over as one row."""
    if _SPARK_MAJOR >= 4:
        return dict(watch.observation.get)
    java_observation = watch.observation._jo
    assert java_observation is not None  # delivered
    metrics = java_observation.getAsJava()
    return {name: metrics.get(name) for name in map(_metric, range(len(watch.rules)))}


def _metric(index: int) -> str:
    """The name of the metric of a table's ``index``-th row rule in its observation."""
    return f"r{index}"


def _delivered(observation: Observation) -> bool:
    """Whether Spark has handed the observation's metrics over, without waiting for them: Spark 4's public
    ``Observation.future``, Spark 3.5's ``metrics`` field (set once, when the metrics arrive). Not readable:
    not delivered, and the caller queries instead."""
    java_observation = observation._jo
    if java_observation is None:
        return False
    try:
        if _SPARK_MAJOR >= 4:
            return bool(java_observation.future().isCompleted())
        field = java_observation.getClass().getDeclaredField("metrics")
        field.setAccessible(True)
        return bool(field.get(java_observation).isDefined())
    except Py4JError:
        return False
