"""The DQDL subset: the rulesets of quality/ load, anything else is refused in one line."""

from __future__ import annotations

from pathlib import Path

import pytest

from spotify_etl.quality.dqdl import Condition, DqdlError, Operand, Rule, load_ruleset, parse_ruleset
from spotify_etl.quality.evaluate import QUALITY_DIR
from spotify_etl.quality.translate import verdict
from spotify_etl.transform.registry import CURATED_TABLES


def test_every_curated_table_has_a_ruleset_with_its_key_and_both_severities() -> None:
    files = {path.stem for path in QUALITY_DIR.glob("*.dqdl")}
    assert files == set(CURATED_TABLES)
    for path in sorted(QUALITY_DIR.glob("*.dqdl")):
        rules = load_ruleset(path)
        assert rules[0].text == "RowCount > 0"
        assert {r.rule_type for r in rules} >= {"RowCount", "IsPrimaryKey", "ColumnValues", "IsComplete"}
        assert {r.severity for r in rules} <= {"ERROR", "WARN"}


def test_a_rule_carries_its_line_text_severity_and_clauses() -> None:
    text = (
        'DefaultLabels = ["severity"="ERROR"]\n'
        "Rules = [\n"
        "    # a comment\n"
        '    ColumnValues "popularity" between -1 and 101 where "popularity IS NOT NULL",\n'
        '    IsComplete "name" labels=["severity"="WARN", "owner"="data"]\n'
        "]\n"
    )

    rules = parse_ruleset(text, "tracks")

    assert rules == [
        Rule(
            "tracks",
            4,
            'ColumnValues "popularity" between -1 and 101 where "popularity IS NOT NULL"',
            "ColumnValues",
            ("popularity",),
            Condition("between", (Operand("number", -1.0), Operand("number", 101.0))),
            None,
            "popularity IS NOT NULL",
            "ERROR",
        ),
        Rule("tracks", 5, 'IsComplete "name"', "IsComplete", ("name",), None, None, None, "WARN"),
    ]


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        (
            'Entropy "name" > 1',
            "tracks.dqdl:3: rule type 'Entropy' is not supported; supported: RowCount, "
            "IsComplete, Completeness, IsUnique, Uniqueness, IsPrimaryKey, ColumnValues, ReferentialIntegrity, "
            "DataFreshness, CustomSql",
        ),
        (
            '(IsComplete "a") and (IsComplete "b")',
            "tracks.dqdl:3: composite rules ((...) and/or (...)) are not supported",
        ),
        ('IsUnique "a" where "a > 1"', "tracks.dqdl:3: IsUnique \"a\": 'where' is not supported here"),
        (
            'ColumnValues "a" not matches "x"',
            "tracks.dqdl:3: ColumnValues \"a\": condition 'not matches' is not supported",
        ),
        (
            'IsComplete "a" labels=["severity"="INFO"]',
            'tracks.dqdl:3: IsComplete "a": needs a "severity" label of ERROR or WARN, has \'INFO\'',
        ),
        (
            'ReferentialIntegrity "a" = 1.0',
            'tracks.dqdl:3: ReferentialIntegrity "a": ReferentialIntegrity takes 2 quoted parameter(s)',
        ),
        ("RowCount > 0 with threshold > 0.5", "tracks.dqdl:3: RowCount > 0: 'with' is not supported here"),
        (
            'ColumnValues "a" matches "(x)\\1"',
            'tracks.dqdl:3: ColumnValues "a" matches "(x)\\1": lookaround and backreferences are not supported '
            "(Spark's Java regex has them, DuckDB's RE2 does not: the verdicts would differ)",
        ),
    ],
)
def test_a_rule_outside_the_subset_is_refused_in_one_line_naming_it_and_its_line(
    rule: str, message: str
) -> None:
    text = f'DefaultLabels = ["severity"="ERROR"]\nRules = [\n    {rule}\n]\n'

    with pytest.raises(DqdlError) as error:
        parse_ruleset(text, "tracks")

    assert str(error.value) == message


def test_a_rule_without_any_severity_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "albums.dqdl"
    path.write_text("Rules = [\n    RowCount > 0\n]\n")

    with pytest.raises(DqdlError, match=r"albums.dqdl:2: RowCount > 0: needs a \"severity\" label"):
        load_ruleset(path)


@pytest.mark.parametrize(("observed", "passed"), [(2.0, False), (2.5, True), (4.0, False), (4.5, False)])
def test_between_excludes_both_bounds_as_glue_evaluates_it(observed: float, passed: bool) -> None:
    (rule,) = parse_ruleset('Rules = [ RowCount between 2 and 4 labels=["severity"="ERROR"] ]', "t")

    assert verdict(rule, observed)[0] is passed
