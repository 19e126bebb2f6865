"""DQDL rules -> Spark SQL metrics, and the verdict on each metric: one translation for both engines.

Every rule becomes one metric, a number computed by Spark SQL over the table's view (the table's name;
``primary`` in a CustomSql statement is the rule's own table, as in Glue). The metrics of the
row-by-row rules (RowCount, IsComplete, Completeness, ColumnValues, DataFreshness) and of the key rules
(IsUnique, Uniqueness, IsPrimaryKey: a window count of each row's key over the same rows) of one table
are batched into one aggregation, so a table costs one scan plus one query per rule that joins or is
written as SQL (ReferentialIntegrity, CustomSql). DuckDB runs the same text transpiled by
sqlglot (``read="spark"``); the verdict is computed here, in Python, from the metric, so two engines
that agree on a number agree on the verdict.

Semantics, from Deequ's DQDL translation (awslabs/deequ ``src/main/scala/com/amazon/deequ/dqdl/
translation/rules/ColumnValuesRule.scala``) and Glue's DQDL library (awslabs/dqdl
``model/condition/number/NumberBasedCondition.java``):

- ``between a and b`` excludes both bounds (``a < x < b``), ``not between`` is ``x <= a or x >= b``.
  Deequ's own ``isContainedIn`` includes its bounds by default; its DQDL translation passes
  ``includeLowerBound = false, includeUpperBound = false``, which is what Glue's DQDL evaluates, so
  that is the meaning here (Glue's documentation wins where the two differ).
- ColumnValues, IsComplete, Completeness and DataFreshness measure a compliance: the fraction of the
  rows (those the ``where`` clause selects) that satisfy the row condition. A NULL value fails every
  row condition except ``!=`` and ``not in`` ("For all ColumnValues rules (other than != and NOT IN),
  NULL rows will fail the rule", https://docs.aws.amazon.com/glue/latest/dg/dqdl-rule-types-ColumnValues.html).
  The rule passes when the compliance is 1.0, or meets its ``with threshold``.
- ``matches`` is a whole-value match (Deequ wraps the pattern in ``^...$``).
- Uniqueness is the fraction of rows whose (non-null) value occurs exactly once; IsUnique requires 1.0;
  IsPrimaryKey requires every row to have all its key columns non-null and its key combination once.
- ReferentialIntegrity is the fraction of rows whose columns' values are found in the reference's
  columns (``"a,b" "ref.{x,y}"``); rows with a NULL column are not found.
- ``now()`` is the evaluation's clock, fixed once per evaluation and written into the SQL as a literal.
- A compliance, uniqueness or reference fraction over no rows is NULL, and the rule passes ("no rows":
  no row breaks it); an empty table is what ``RowCount > 0`` catches. A CustomSql statement that
  returns NULL fails.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlglot
from sqlglot import exp

from spotify_etl.quality.dqdl import Condition, Operand, Rule

AGGREGATED = ("RowCount", "IsComplete", "Completeness", "ColumnValues", "DataFreshness")
KEYED = ("IsUnique", "Uniqueness", "IsPrimaryKey")  # in the table's aggregation too, through a window
IN_AGGREGATION = AGGREGATED + KEYED
# The window columns' names: reserved, no table of the lake may have a column that starts with it.
KEY_ROWS_PREFIX = "__dq_key_rows_"


class TranslationError(ValueError):
    """A rule that parses but cannot be translated (e.g. a CustomSql statement that is not SQL)."""


def _ident(name: str) -> str:
    return exp.to_identifier(name, quoted=True).sql("spark")


def _string(value: str) -> str:
    return exp.Literal.string(value).sql("spark")


def _number(value: str | float) -> str:
    number = float(value)
    return str(int(number)) if number.is_integer() else repr(number)


def _timestamp(clock: datetime, seconds: float) -> str:
    moment = (clock + timedelta(seconds=seconds)).strftime("%Y-%m-%d %H:%M:%S")
    return f"CAST({_string(moment)} AS TIMESTAMP)"


def _literal(operand: Operand, clock: datetime) -> str:
    if operand.kind == "number":
        return _number(operand.value)
    if operand.kind == "now":
        return _timestamp(clock, float(operand.value))
    return _string(str(operand.value))


def _keywords(column: str, operands: tuple[Operand, ...]) -> list[str]:
    """Row conditions of the NULL, EMPTY and WHITESPACES_ONLY keywords (Deequ's translation)."""
    words = {str(o.value) for o in operands if o.kind == "keyword"}
    return [
        sql
        for word, sql in (
            ("NULL", f"{column} IS NULL"),
            ("EMPTY", f"{column} = ''"),
            ("WHITESPACES_ONLY", f"(length(trim({column})) = 0 AND length({column}) > 0)"),
        )
        if word in words
    ]


def _membership(column: str, condition: Condition, clock: datetime) -> str:
    values = [_literal(o, clock) for o in condition.operands if o.kind != "keyword"]
    keyword_sql = _keywords(column, condition.operands)
    inside = [f"({column} IS NOT NULL AND {column} IN ({', '.join(values)}))"] if values else []
    if condition.op == "in":
        return " OR ".join(inside + keyword_sql) or "FALSE"
    outside = [f"({column} IS NULL OR {column} NOT IN ({', '.join(values)}))"] if values else []
    return " AND ".join(outside + [f"NOT ({sql})" for sql in keyword_sql]) or "TRUE"


def row_condition(column: str, condition: Condition, clock: datetime) -> str:
    """The Spark SQL predicate a row of a ColumnValues rule must satisfy (NULL fails, but != and not in)."""
    col = _ident(column)
    operands = condition.operands
    dated = any(o.kind in ("now",) for o in operands) or (
        condition.op in (">", ">=", "<", "<=", "between", "not between") and operands[0].kind == "string"
    )
    target = f"CAST({col} AS TIMESTAMP)" if dated else col
    values = [_timestamp_or_literal(o, clock, dated) for o in operands]
    op = condition.op
    if op == "matches":
        return f"{col} RLIKE {_string('^(?:' + str(operands[0].value) + ')$')}"
    if op in ("in", "not in"):
        return _membership(col, condition, clock)
    if op == "=" and operands[0].kind == "keyword":
        return " OR ".join(_keywords(col, operands))
    if op == "!=" and operands[0].kind == "keyword":
        return f"NOT ({' OR '.join(_keywords(col, operands))})"
    if op == "between":
        return f"({target} > {values[0]} AND {target} < {values[1]})"
    if op == "not between":
        return f"({target} <= {values[0]} OR {target} >= {values[1]})"
    if op == "!=":
        return f"({col} IS NULL OR {target} <> {values[0]})"
    return f"{target} {op} {values[0]}"


def _timestamp_or_literal(operand: Operand, clock: datetime, dated: bool) -> str:
    if dated and operand.kind == "string":
        return f"CAST({_string(str(operand.value))} AS TIMESTAMP)"
    return _literal(operand, clock)


def _freshness(column: str, condition: Condition, clock: datetime) -> str:
    """DataFreshness: the row's age (clock - value) satisfies the duration condition."""
    flipped = {"<=": ">=", "<": ">", ">=": "<=", ">": "<"}
    if condition.op not in flipped:
        raise TranslationError(f"DataFreshness supports <, <=, >, >= a duration, not {condition.op!r}")
    bound = _timestamp(clock, -float(condition.operands[0].value))
    return f"CAST({_ident(column)} AS TIMESTAMP) {flipped[condition.op]} {bound}"


def _compliance(predicate: str, where: str | None) -> str:
    selected = f"({where})" if where else "TRUE"
    return (
        f"CAST(count(CASE WHEN {selected} AND ({predicate}) THEN 1 END) AS DOUBLE)"
        f" / NULLIF(count(CASE WHEN {selected} THEN 1 END), 0)"
    )


def row_predicate(rule: Rule, clock: datetime) -> str:
    """The predicate one row must satisfy for a compliance rule (IsComplete, Completeness, ColumnValues,
    DataFreshness); the rule's ``where`` selects the rows it applies to. The transform's gate uses it to find
    the rows (and so the raw objects) that break a rule."""
    column = rule.params[0]
    if rule.rule_type in ("IsComplete", "Completeness"):
        return f"{_ident(column)} IS NOT NULL"
    assert rule.condition is not None
    if rule.rule_type == "DataFreshness":
        return _freshness(column, rule.condition, clock)
    return row_condition(column, rule.condition, clock)


def aggregate_metric(rule: Rule, clock: datetime) -> str:
    """The aggregate expression of a row-by-row rule, over its table's view."""
    if rule.rule_type == "RowCount":
        return f"count(CASE WHEN {f'({rule.where})' if rule.where else 'TRUE'} THEN 1 END)"
    return _compliance(row_predicate(rule, clock), rule.where)


def _key_rows(index: int) -> str:
    """The column of the table's aggregation source holding, per row, the rows that share its key."""
    return f"{KEY_ROWS_PREFIX}{index}"


def _key_window(rule: Rule, index: int) -> str:
    """``count(*) OVER (PARTITION BY <the rule's columns>)``: per row, the rows that share its values (NULLs
    included: a window's partition, like a GROUP BY, puts NULLs together)."""
    columns = ", ".join(_ident(c) for c in rule.params)
    return f"count(*) OVER (PARTITION BY {columns}) AS {_key_rows(index)}"


def _unique_share(rule: Rule, index: int) -> str:
    """Fraction of all rows whose column values are all non-null and shared with no other row (the key's
    window count is 1). Over the rows of the table's one scan, beside the row-by-row rules' metrics: no scan,
    query or Spark job of its own; the rows are shuffled by the key once per distinct key."""
    complete = " AND ".join(f"{_ident(c)} IS NOT NULL" for c in rule.params)
    return f"CAST(count(CASE WHEN {complete} AND {_key_rows(index)} = 1 THEN 1 END) AS DOUBLE) / NULLIF(count(*), 0)"


def reference_columns(rule: Rule) -> tuple[list[str], str, list[str]]:
    """A ReferentialIntegrity rule's own columns, the referenced table and its columns (``"a,b" "t.{x,y}"``)."""
    primary = [c.strip() for c in rule.params[0].split(",")]
    table, _, spec = rule.params[1].partition(".")
    refs = [c.strip() for c in spec.strip("{}").split(",")]
    if not table or len(refs) != len(primary):
        raise TranslationError(f'{rule.text}: the reference must be "table.{{columns}}" with as many columns')
    return primary, table, refs


def _reference_join(rule: Rule, join: str, found: str) -> str:
    """``<rule's table> t <join> (the referenced keys, distinct, as r.k0.., plus ``found``) r ON <keys match>``."""
    primary, table, refs = reference_columns(rule)
    keys = ", ".join([*(f"{_ident(r)} AS k{i}" for i, r in enumerate(refs)), *([found] if found else [])])
    on = " AND ".join(f"t.{_ident(p)} = r.k{i}" for i, p in enumerate(primary))
    return f"{_ident(rule.table)} t {join} (SELECT DISTINCT {keys} FROM {_ident(table)}) r ON {on}"


def _reference(rule: Rule) -> str:
    joined = _reference_join(rule, "LEFT JOIN", "1 AS found")
    return f"SELECT CAST(count(r.found) AS DOUBLE) / NULLIF(count(*), 0) FROM {joined}"


def broken_rows_query(rule: Rule, clock: datetime) -> str:
    """``source_file`` of every row of the rule's table that breaks a row rule (IsComplete, Completeness,
    ColumnValues, DataFreshness: the rows its ``where`` selects that fail the row predicate, NULL failing;
    ReferentialIntegrity: the rows whose columns are not found in the reference, a NULL column not found),
    distinct: the same rows whose share the rule's metric measures."""
    if rule.rule_type == "ReferentialIntegrity":
        return f"SELECT DISTINCT t.source_file FROM {_reference_join(rule, 'LEFT ANTI JOIN', '')}"
    condition = broken_row_condition(rule, clock)
    return f"SELECT DISTINCT source_file FROM {_ident(rule.table)} WHERE {condition}"


def broken_row_condition(rule: Rule, clock: datetime) -> str:
    """A row rule's test of one row (IsComplete, Completeness, ColumnValues, DataFreshness): TRUE when its
    ``where`` selects the row and the row fails the rule's predicate, NULL failing; never NULL."""
    if rule.rule_type not in ("IsComplete", "Completeness", "ColumnValues", "DataFreshness"):
        raise TranslationError(f"{rule.text}: {rule.rule_type} does not judge rows one by one")
    selected = f"coalesce(({rule.where}), FALSE)" if rule.where else "TRUE"
    return f"({selected} AND NOT coalesce(({row_predicate(rule, clock)}), FALSE))"


def _custom_sql(rule: Rule) -> str:
    """The rule's statement with ``primary`` naming the rule's table (Glue's alias of the dataset)."""
    try:
        tree = sqlglot.parse_one(rule.params[0], read="spark")
    except sqlglot.errors.ParseError as error:
        raise TranslationError(f"{rule.text}: not Spark SQL: {str(error).splitlines()[0]}") from None
    if not isinstance(tree, exp.Select | exp.Union):
        raise TranslationError(f"{rule.text}: a CustomSql statement is one SELECT")
    for table in tree.find_all(exp.Table):
        if table.name == "primary":
            table.set("this", exp.to_identifier(rule.table))
    return tree.sql("spark")


def standalone_query(rule: Rule) -> str:
    """The query (one row, one number) of a rule that joins or is written as SQL."""
    if rule.rule_type == "ReferentialIntegrity":
        return _reference(rule)
    if rule.rule_type == "CustomSql":
        return _custom_sql(rule)
    raise TranslationError(f"{rule.text}: {rule.rule_type} is evaluated in the table's aggregation")


def referenced_tables(rule: Rule) -> set[str]:
    """The tables a rule reads besides its own (the views an evaluation must provide)."""
    if rule.rule_type == "ReferentialIntegrity":
        return {rule.params[1].partition(".")[0]}
    if rule.rule_type == "CustomSql":
        tree = sqlglot.parse_one(rule.params[0], read="spark")
        return {t.name for t in tree.find_all(exp.Table)} - {"primary", rule.table}
    return set()


def _holds(value: float, condition: Condition) -> bool:
    """Glue's NumberBasedCondition.evaluate: ``between`` excludes both bounds."""
    numbers = [float(o.value) for o in condition.operands]
    op = condition.op
    if op == "between":
        return numbers[0] < value < numbers[1]
    if op == "not between":
        return value <= numbers[0] or value >= numbers[1]
    if op in ("in", "not in"):
        return (value in numbers) == (op == "in")
    return {
        ">": value > numbers[0],
        ">=": value >= numbers[0],
        "<": value < numbers[0],
        "<=": value <= numbers[0],
        "=": value == numbers[0],
        "!=": value != numbers[0],
    }[op]


def verdict(rule: Rule, observed: float | None) -> tuple[bool, str]:
    """Whether the rule passes given its metric, and a one-line message when it does not."""
    if observed is None:
        return rule.rule_type not in ("RowCount", "CustomSql"), "no rows"
    if rule.rule_type in ("IsComplete", "IsUnique", "IsPrimaryKey"):
        passed = observed == 1.0
    elif rule.rule_type in ("ColumnValues", "DataFreshness"):
        passed = _holds(observed, rule.threshold) if rule.threshold else observed == 1.0
    else:
        assert rule.condition is not None
        passed = _holds(observed, rule.condition)
    return passed, "" if passed else f"observed {observed:g}"


@dataclass(frozen=True)
class TablePlan:
    """The SQL that evaluates one table's rules: one aggregation (its row-by-row and key rules, in ``aggregated``'s
    order) plus one query per rule that joins or is written as SQL."""

    table: str
    aggregated: tuple[Rule, ...]
    aggregation: str | None
    standalone: tuple[tuple[Rule, str], ...]


def plan(table: str, rules: list[Rule], clock: datetime) -> TablePlan:
    """Translate one table's rules (all of ``table``) into the queries that evaluate them. The aggregation reads
    the table, with one window count per key rule (:func:`_key_window`) when it has any."""
    aggregated = tuple(r for r in rules if r.rule_type in IN_AGGREGATION)
    keyed = {rule: index for index, rule in enumerate(r for r in aggregated if r.rule_type in KEYED)}
    metrics = [
        _unique_share(rule, keyed[rule]) if rule in keyed else aggregate_metric(rule, clock)
        for rule in aggregated
    ]
    source = _ident(table)
    if keyed:
        windows = ", ".join(_key_window(rule, index) for rule, index in keyed.items())
        source = f"(SELECT *, {windows} FROM {_ident(table)}) {_ident(table)}"
    columns = ", ".join(f"{metric} AS m{i}" for i, metric in enumerate(metrics))
    aggregation = f"SELECT {columns} FROM {source}" if aggregated else None
    standalone = tuple((r, standalone_query(r)) for r in rules if r.rule_type not in IN_AGGREGATION)
    return TablePlan(table, aggregated, aggregation, standalone)
