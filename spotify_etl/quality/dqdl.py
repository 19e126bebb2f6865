"""A parser for the subset of DQDL (AWS Glue Data Quality's rule language) that ``quality/*.dqdl`` use.

The files are written to be pasted into Glue's console unchanged, so the syntax is Glue's own
(https://docs.aws.amazon.com/glue/latest/dg/dqdl.html; grammar: awslabs/dqdl
``configuration/dqdl/DataQualityDefinitionLanguage.g4``)::

    DefaultLabels = ["severity"="ERROR"]
    Rules = [
        IsPrimaryKey "track_id" "snapshot_date",
        ColumnValues "popularity" between -1 and 101 where "popularity IS NOT NULL",
        IsComplete "track_name" labels=["severity"="WARN"]
    ]

A rule's severity is its ``severity`` label (``ERROR`` gates a run, ``WARN`` is recorded), taken from
the rule's ``labels=[...]`` or else from ``DefaultLabels``. Anything outside the subset (a rule type,
a condition or a clause this module does not know, a composite ``(...) and (...)`` rule, a rule with
no severity) is refused when the file is loaded, with one line naming the file, the line and the rule:
a rule that is silently skipped would be a gate that silently opens.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

SEVERITIES = ("ERROR", "WARN")
KEYWORDS = ("NULL", "EMPTY", "WHITESPACES_ONLY")
DURATION_UNITS = {"minutes": 60, "hours": 3600, "days": 86400}

# rule type -> (number of quoted parameters, or -1 for "one or more"; condition kind or None)
RULE_TYPES: dict[str, tuple[int, str | None]] = {
    "RowCount": (0, "number"),
    "IsComplete": (1, None),
    "Completeness": (1, "number"),
    "IsUnique": (1, None),
    "Uniqueness": (1, "number"),
    "IsPrimaryKey": (-1, None),
    "ColumnValues": (1, "value"),
    "ReferentialIntegrity": (2, "number"),
    "DataFreshness": (1, "duration"),
    "CustomSql": (1, "number"),
}
# The rule types a `where` clause applies to (the row-by-row ones, evaluated in one aggregation; the key rules
# share that aggregation and take no `where`).
WHERE_TYPES = ("RowCount", "IsComplete", "Completeness", "ColumnValues", "DataFreshness")

_TOKEN = re.compile(
    r"""(?P<ws>[ \t\r\n]+)|(?P<comment>\#[^\n]*)
    |(?P<string>"(?:\\.|[^"\\])*")
    |(?P<number>-?\d+(?:\.\d+)?)
    |(?P<op>>=|<=|!=|=|>|<|\[|\]|\(|\)|,|\+|-)
    |(?P<word>[A-Za-z_][A-Za-z0-9_.]*)""",
    re.VERBOSE,
)


# Regex features Java (Spark, Glue) has and RE2 (DuckDB) lacks: lookaround, backreferences, possessive/atomic.
_NOT_PORTABLE = re.compile(r"\(\?<?[=!]|\(\?>|\\[1-9]|\\k<|[*+?}]\+")


class DqdlError(ValueError):
    """A ruleset that is not DQDL, or not the subset supported here; the message is one line."""


@dataclass(frozen=True)
class Token:
    kind: str  # string | number | op | word | end
    text: str
    line: int
    start: int  # offsets of the token in the file
    end: int

    @property
    def value(self) -> str:
        """The text of a quoted string without its quotes and escapes, else the text (a regex keeps its backslashes)."""
        if self.kind != "string":
            return self.text
        return re.sub(r'\\(["\\])', r"\1", self.text[1:-1])  # DQDL's only escapes: \" and \\


@dataclass(frozen=True)
class Operand:
    """One operand of a condition: a number, a string, a keyword (NULL, EMPTY, WHITESPACES_ONLY),
    a duration in seconds (``48 hours``), a date (``"2026-01-01"``) or ``now()`` plus seconds."""

    kind: str  # number | string | keyword | duration | now
    value: str | float


@dataclass(frozen=True)
class Condition:
    op: str  # > >= < <= = != between, not between, in, not in, matches, not matches
    operands: tuple[Operand, ...]


@dataclass(frozen=True)
class Rule:
    """One DQDL rule of one table's ruleset.

    Attributes:
        table: the table the ruleset belongs to (the file's name).
        line: the line of the file where the rule starts.
        text: the rule as written, without its labels: its name in every result.
        rule_type: e.g. ``IsPrimaryKey``.
        params: the quoted parameters (columns, a reference, a SQL statement).
        condition: the expression the rule's metric must satisfy, if the type takes one.
        threshold: ``with threshold ...``: the compliance a ColumnValues-like rule must reach.
        where: ``where "..."``: a Spark SQL predicate selecting the rows the rule looks at.
        severity: ``ERROR`` or ``WARN``.
    """

    table: str
    line: int
    text: str
    rule_type: str
    params: tuple[str, ...]
    condition: Condition | None
    threshold: Condition | None
    where: str | None
    severity: str


def tokenize(text: str, origin: str) -> list[Token]:
    """Split ``text`` into tokens, dropping blanks and ``#`` comments."""
    tokens: list[Token] = []
    position, line = 0, 1
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None:
            raise DqdlError(f"{origin}:{line}: unexpected {text[position : position + 20]!r}")
        kind = match.lastgroup or ""
        if kind not in ("ws", "comment"):
            tokens.append(Token(kind, match.group(), line, match.start(), match.end()))
        line += match.group().count("\n")
        position = match.end()
    tokens.append(Token("end", "end of file", line, len(text), len(text)))
    return tokens


class _Parser:
    def __init__(self, text: str, origin: str, table: str) -> None:
        self.text = text
        self.origin = origin
        self.table = table
        self.tokens = tokenize(text, origin)
        self.at = 0

    def peek(self, ahead: int = 0) -> Token:
        return self.tokens[min(self.at + ahead, len(self.tokens) - 1)]

    def take(self) -> Token:
        token = self.peek()
        self.at += 1
        return token

    def fail(self, token: Token, message: str) -> DqdlError:
        return DqdlError(f"{self.origin}:{token.line}: {message}")

    def expect(self, text: str) -> Token:
        token = self.take()
        if token.text != text:
            raise self.fail(token, f"expected {text!r}, found {token.text!r}")
        return token

    def accept(self, text: str) -> bool:
        if self.peek().text == text and self.peek().kind in ("op", "word"):
            self.at += 1
            return True
        return False

    def labels(self) -> dict[str, str]:
        self.expect("=")
        self.expect("[")
        labels: dict[str, str] = {}
        while not self.accept("]"):
            key = self.take()
            self.expect("=")
            value = self.take()
            if key.kind != "string" or value.kind != "string":
                raise self.fail(key, 'a label is "key"="value"')
            if key.value in labels:
                raise self.fail(key, f"duplicate label key {key.value!r}")
            labels[key.value] = value.value
            if not self.accept(","):
                self.expect("]")
                break
        return labels

    def document(self) -> list[Rule]:
        default_labels: dict[str, str] = {}
        if self.accept("DefaultLabels"):
            default_labels = self.labels()
        self.expect("Rules")
        self.expect("=")
        self.expect("[")
        rules: list[Rule] = []
        while not self.accept("]"):
            rules.append(self.rule(default_labels))
            if not self.accept(","):
                self.expect("]")
                break
        end = self.take()
        if end.kind != "end":
            raise self.fail(end, f"unexpected {end.text!r} after the Rules list")
        return rules

    def rule(self, default_labels: dict[str, str]) -> Rule:
        first = self.take()
        if first.text == "(":
            raise self.fail(first, "composite rules ((...) and/or (...)) are not supported")
        if first.kind != "word" or first.text not in RULE_TYPES:
            raise self.fail(
                first, f"rule type {first.text!r} is not supported; supported: {', '.join(RULE_TYPES)}"
            )
        arity, kind = RULE_TYPES[first.text]
        params: list[str] = []
        while self.peek().kind == "string" and (arity < 0 or len(params) < arity):
            params.append(self.take().value)
        if (arity >= 0 and len(params) != arity) or (arity < 0 and not params):
            count = "one or more" if arity < 0 else str(arity)
            raise self.fail(
                first, f"{self._source(first, self.peek())}: {first.text} takes {count} quoted parameter(s)"
            )
        condition = self.condition(kind, first) if kind else None
        threshold = where = None
        labels = dict(default_labels)
        end_of_text = self.tokens[self.at - 1]
        while self.peek().kind != "end" and (self.peek().kind != "op" or self.peek().text not in (",", "]")):
            token = self.take()
            if (
                token.text == "with"
                and self.accept("threshold")
                and first.text in ("ColumnValues", "DataFreshness")
            ):
                threshold = self.condition("number", first)
            elif token.text == "where" and self.peek().kind == "string" and first.text in WHERE_TYPES:
                where = self.take().value
            elif token.text == "labels":
                labels.update(self.labels())
                break
            else:
                raise self.fail(token, f"{self._source(first, token)}: {token.text!r} is not supported here")
            end_of_text = self.tokens[self.at - 1]
        severity = labels.get("severity")
        text = self._source(first, end_of_text, inclusive=True)
        if severity not in SEVERITIES:
            raise self.fail(
                first, f'{text}: needs a "severity" label of {" or ".join(SEVERITIES)}, has {severity!r}'
            )
        return Rule(
            self.table, first.line, text, first.text, tuple(params), condition, threshold, where, severity
        )

    def _source(self, first: Token, last: Token, inclusive: bool = False) -> str:
        """The rule's text as written from ``first`` to ``last`` (included or not), on one line."""
        return re.sub(r"\s+", " ", self.text[first.start : last.end if inclusive else last.start]).strip()

    def condition(self, kind: str, rule: Token) -> Condition:
        token = self.take()
        op = token.text
        if op == "not":
            op = "not " + self.take().text
        operands: tuple[Operand, ...]
        if op in (">", ">=", "<", "<=", "=", "!="):
            operands = (self.operand(kind, rule),)
        elif op in ("between", "not between"):
            low = self.operand(kind, rule)
            self.expect("and")
            operands = (low, self.operand(kind, rule))
        elif op in ("in", "not in"):
            self.expect("[")
            values = [self.operand(kind, rule)]
            while self.accept(","):
                values.append(self.operand(kind, rule))
            self.expect("]")
            operands = tuple(values)
        elif op == "matches" and kind == "value":
            pattern = self.take()
            if pattern.kind != "string":
                raise self.fail(pattern, "matches takes a quoted regular expression")
            if _NOT_PORTABLE.search(pattern.value):
                raise self.fail(
                    pattern,
                    f"{self._source(rule, pattern, inclusive=True)}: lookaround and backreferences are not "
                    "supported (Spark's Java regex has them, DuckDB's RE2 does not: the verdicts would differ)",
                )
            operands = (Operand("string", pattern.value),)
        else:
            raise self.fail(token, f"{self._source(rule, token)}: condition {op!r} is not supported")
        return Condition(op, operands)

    def operand(self, kind: str, rule: Token) -> Operand:
        token = self.take()
        if token.kind == "number" and kind == "duration":
            unit = self.take()
            if unit.text not in DURATION_UNITS:
                raise self.fail(unit, f"a duration is a number of {', '.join(DURATION_UNITS)}")
            return Operand("duration", float(token.text) * DURATION_UNITS[unit.text])
        if token.kind == "number":
            return Operand("number", float(token.text))
        if kind == "value" and token.kind == "string":
            return Operand("string", token.value)
        if kind == "value" and token.text in KEYWORDS:
            return Operand("keyword", token.text)
        if kind == "value" and token.text == "(":
            return self._now_plus(rule)
        if kind == "value" and token.text == "now":
            self.expect("(")
            self.expect(")")
            return Operand("now", 0.0)
        raise self.fail(token, f"{self._source(rule, token)}: operand {token.text!r} is not supported")

    def _now_plus(self, rule: Token) -> Operand:
        """``(now() + 3 days)`` or ``(now() - 3 days)``: now plus signed seconds."""
        self.expect("now")
        self.expect("(")
        self.expect(")")
        sign = self.take()
        if sign.text not in ("+", "-"):
            raise self.fail(sign, "a date expression is (now() + N days) or (now() - N days)")
        amount = self.operand("duration", rule)
        self.expect(")")
        return Operand("now", float(amount.value) * (1 if sign.text == "+" else -1))


def parse_ruleset(text: str, table: str, origin: str | None = None) -> list[Rule]:
    """Parse one table's ruleset; raises :class:`DqdlError` (one line) on anything unsupported."""
    return _Parser(text, origin or f"{table}.dqdl", table).document()


def load_ruleset(path: Path) -> list[Rule]:
    """The rules of ``quality/<table>.dqdl``; the table is the file's name."""
    return parse_ruleset(path.read_text(encoding="utf-8"), path.stem, str(path))
