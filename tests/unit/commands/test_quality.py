"""``spotify-etl quality``: exit 0 on a clean lake, 1 naming the ERROR rules broken in the Parquet."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from spotify_etl.cli import main
from tests.builders import spotify_id
from tests.quality_lake import clean_rows, write_lake

DUPLICATE_KEY = 'tracks: IsPrimaryKey "track_id" "snapshot_date" failed (observed 0.6)'
DANGLING = (
    'track_artists: ReferentialIntegrity "track_id,snapshot_date" "tracks.{track_id,snapshot_date}" = 1.0 '
    "failed (observed 0.857143)"
)
GAP = (
    'playlist_items: CustomSql "SELECT count(*) FROM (SELECT playlist_id, snapshot_date, max(position) AS top, '
    'count(*) AS n FROM primary GROUP BY playlist_id, snapshot_date) g WHERE top <> n - 1" = 0 failed (observed 1)'
)


def test_a_clean_lake_exits_0(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lake = write_lake(tmp_path / "lake", clean_rows())

    assert main(["quality", "--lake", str(lake)]) == 0

    out, err = capsys.readouterr()
    assert err == ""
    assert 'ERROR PASS  observed 1          IsPrimaryKey "track_id" "snapshot_date"' in out


def test_a_duplicated_key_a_dangling_row_and_a_gap_exit_1_naming_the_three_rules(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = clean_rows()
    rows["tracks"].append(copy.deepcopy(rows["tracks"][0]))  # a duplicated key
    rows["track_artists"].append({**rows["track_artists"][0], "track_id": spotify_id("gone")})  # dangling
    rows["playlist_items"][2]["position"] = 3  # positions 0, 1, 3: a gap
    lake = write_lake(tmp_path / "lake", rows)

    assert main(["quality", "--lake", str(lake)]) == 1

    assert capsys.readouterr().err.splitlines() == [
        f"spotify-etl quality: {line}" for line in (GAP, DANGLING, DUPLICATE_KEY)
    ]


def test_an_unsupported_rule_exits_2_in_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lake = write_lake(tmp_path / "lake", clean_rows())
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "tracks.dqdl").write_text(
        'DefaultLabels = ["severity"="ERROR"]\nRules = [\n  RowCount > 0,\n  Entropy "x" > 1\n]\n'
    )

    assert main(["quality", "--lake", str(lake), "--rules", str(rules)]) == 2

    assert capsys.readouterr().err == (
        f"spotify-etl quality: {rules / 'tracks.dqdl'}:4: rule type 'Entropy' is not supported; supported: "
        "RowCount, IsComplete, Completeness, IsUnique, Uniqueness, IsPrimaryKey, ColumnValues, "
        "ReferentialIntegrity, DataFreshness, CustomSql\n"
    )


def test_a_lake_without_curated_tables_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["quality", "--lake", str(tmp_path / "nothing")]) == 2

    assert (
        capsys.readouterr().err
        == f"spotify-etl quality: no curated tables under {tmp_path / 'nothing' / 'curated'}\n"
    )


def test_each_evaluation_is_appended_and_athena_reads_the_latest_failures_first(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from spotify_etl.aws_twin.athena import load_queries, run_query
    from spotify_etl.aws_twin.crawler import crawl_lake
    from spotify_etl.lake import LakeLayout

    lake = write_lake(tmp_path / "lake", clean_rows())
    assert main(["quality", "--lake", str(lake)]) == 0
    rows = clean_rows()
    rows["tracks"].append(copy.deepcopy(rows["tracks"][0]))
    write_lake(lake, rows)
    assert main(["quality", "--lake", str(lake)]) == 1
    assert main(["quality", "--lake", str(lake), "--no-record"]) == 1
    crawl_lake(lake)

    result = run_query(
        LakeLayout.from_lake(lake).catalog_file, load_queries()["data_quality_latest"].sql, "q"
    )

    results_dir = lake / "curated" / "data_quality_results"
    assert len(list(results_dir.glob("evaluated_date=*/part-*.parquet"))) == 2
    latest = [row[:8] for row in result.rows]
    assert len(latest) == 53
    assert latest[:2] == [
        (
            "tracks",
            'IsPrimaryKey "track_id" "snapshot_date"',
            "ERROR",
            "FAIL",
            0.6,
            "observed 0.6",
            "quality/tracks.dqdl:7",
            "spotify-etl quality",
        ),
        (
            "playlist_snapshots",
            'DataFreshness "snapshot_date" <= 30 hours with threshold > 0',
            "WARN",
            "FAIL",
            0.0,
            "observed 0",
            "quality/playlist_snapshots.dqdl:17",
            "spotify-etl quality",
        ),
    ]
    assert {row[3] for row in latest[2:]} == {"PASS"}
    assert len({row[8] for row in result.rows}) == 1  # one evaluation, one moment


def test_a_rule_naming_a_table_the_lake_lacks_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lake = write_lake(tmp_path / "lake", clean_rows())
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "tracks.dqdl").write_text(
        'Rules = [ ReferentialIntegrity "album_id" "records.{album_id}" = 1.0 labels=["severity"="ERROR"] ]\n'
    )

    assert main(["quality", "--lake", str(lake), "--rules", str(rules), "--no-record"]) == 2

    assert (
        capsys.readouterr().err
        == "spotify-etl quality: no table records in the lake (a ruleset or a rule names it)\n"
    )
