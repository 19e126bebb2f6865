"""``make run``'s quality step: judged on the simulated clock, recorded, registered, failures printed."""

from __future__ import annotations

from pathlib import Path

import pytest

from spotify_etl.devtools.errors import PipelineError
from spotify_etl.devtools.quality_step import judge_and_record
from tests.quality_lake import CLOCK, clean_rows, write_lake


def test_the_evaluation_is_recorded_on_the_clocks_day_and_crawled(tmp_path: Path) -> None:
    rows = clean_rows()
    rows["track_artists"][0]["artist_position"] = -1
    lake = write_lake(tmp_path / "lake", rows)
    lines: list[str] = []

    results, crawl = judge_and_record(lake, CLOCK, lines.append)

    folder = lake / "curated" / "data_quality_results" / "evaluated_date=2026-11-02"
    assert len(list(folder.glob("part-*.parquet"))) == 1
    assert crawl.partitions_added["data_quality_results"] == ["2026-11-02"]
    assert lines == [
        f"quality: 53 rules, 51 passed, 1 ERROR failed, 1 WARN failed -> {folder}",
        '  ERROR track_artists: ColumnValues "artist_position" >= 0 (observed 0.833333)',
        '  WARN track_artists: CustomSql "SELECT count(*) FROM (SELECT track_id, snapshot_date, '
        "max(artist_position) AS top, count(*) AS n FROM primary GROUP BY track_id, snapshot_date) g "
        'WHERE top <> n - 1" = 0 (observed 1)',
    ]
    assert [(r.rule.severity, r.rule.table, r.rule.rule_type) for r in results if not r.passed] == [
        ("ERROR", "track_artists", "ColumnValues"),
        ("WARN", "track_artists", "CustomSql"),
    ]


def test_a_lake_without_tables_is_a_pipeline_error_in_one_line(tmp_path: Path) -> None:
    with pytest.raises(PipelineError, match=r"^quality: no curated tables under "):
        judge_and_record(tmp_path / "empty", CLOCK, print)
