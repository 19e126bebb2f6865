"""`spotify-etl query` is read-only: it reads the lake's registered tables and nothing else, and never writes.

The lake is tests/curated_lake.py's tiny lake, crawled; every refusal is DuckDB's or the statement check's
(spotify_etl/aws_twin/readonly.py), seen through the real command.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from pyspark.sql import SparkSession

from spotify_etl.aws_twin.athena import QueryRefused, run_query
from spotify_etl.aws_twin.crawler import crawl_lake
from spotify_etl.cli import main
from spotify_etl.lake import LakeLayout
from tests.curated_lake import curated_lake_copy


@pytest.fixture(scope="module")
def lake(spark: SparkSession, tmp_path_factory: pytest.TempPathFactory) -> Path:
    lake = curated_lake_copy(spark, tmp_path_factory.mktemp("readonly_lake"))
    crawl_lake(lake)
    return lake


def _query(lake: Path, sql: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(["query", "--lake", str(lake), "--format", "csv", sql])
    out, err = capsys.readouterr()
    return code, out, err


def test_a_file_outside_the_lake_is_refused_in_one_line(
    lake: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    secret = tmp_path / "secret.csv"
    secret.write_text("user,password\nroot,hunter2\n")

    code, out, err = _query(lake, f"SELECT * FROM read_csv('{secret}')", capsys)

    assert code == 3
    assert out == ""
    assert "hunter2" not in err
    assert err.count("\n") == 1
    assert err.startswith(f'spotify-etl query: query: refused: Cannot access file "{secret}"')


def test_etc_passwd_is_refused(lake: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _query(lake, "SELECT * FROM read_csv('/etc/passwd', sep = ':')", capsys)

    assert (code, out) == (3, "")
    assert 'refused: Cannot access file "/etc/passwd"' in err


@pytest.mark.parametrize("target", ["outside", "curated"])
def test_copy_to_is_refused_and_writes_nothing(
    lake: Path, tmp_path: Path, target: str, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path if target == "outside" else lake / "curated" / "tracks"
    written = folder / "copied.parquet"

    code, out, err = _query(lake, f"COPY (SELECT * FROM tracks) TO '{written}' (FORMAT parquet)", capsys)

    assert (code, out) == (3, "")
    assert err == (
        "spotify-etl query: query: refused: only SELECT queries run on the lake's catalog (read-only), "
        "not COPY\n"
    )
    assert not written.exists()


@pytest.mark.parametrize(
    ("sql", "first_word"),
    [
        ("CREATE TABLE stolen AS SELECT * FROM tracks", "CREATE"),
        ("INSERT INTO tracks SELECT * FROM tracks", "INSERT"),
        ("SET enable_external_access = true", "SET"),
        ("DROP VIEW current_tracks", "DROP"),
    ],
)
def test_statements_other_than_queries_are_refused(lake: Path, sql: str, first_word: str) -> None:
    with pytest.raises(QueryRefused, match=rf"refused: only SELECT queries .* not {first_word}$"):
        run_query(LakeLayout.from_lake(lake).catalog_file, sql)


def test_globs_and_urls_outside_the_lake_are_refused(lake: Path, tmp_path: Path) -> None:
    for sql in (
        f"SELECT * FROM read_parquet('{tmp_path}/*.parquet')",
        "SELECT * FROM 'https://example.com/x.csv'",
    ):
        with pytest.raises(QueryRefused, match="refused"):
            run_query(LakeLayout.from_lake(lake).catalog_file, sql)


def test_a_parquet_file_copied_outside_the_tables_cannot_be_read(lake: Path, tmp_path: Path) -> None:
    source = next((lake / "curated" / "tracks").rglob("*.parquet"))
    outside = tmp_path / "tracks.parquet"
    shutil.copy(source, outside)

    with pytest.raises(QueryRefused, match=f'Cannot access file "{outside}"'):
        run_query(LakeLayout.from_lake(lake).catalog_file, f"SELECT * FROM read_parquet('{outside}')")


def test_queries_over_tables_views_and_the_lakes_own_files_still_run(
    lake: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    table_file = sorted((lake / "curated" / "tracks").rglob("*.parquet"))[0]  # one file per partition

    views = _query(lake, "SELECT count(*) AS n FROM current_tracks", capsys)
    by_path = run_query(
        LakeLayout.from_lake(lake).catalog_file, f"SELECT DISTINCT track_id FROM read_parquet('{table_file}')"
    )
    day = table_file.parent.name.removeprefix("snapshot_date=")
    from_table = run_query(
        LakeLayout.from_lake(lake).catalog_file,
        f"SELECT DISTINCT track_id FROM tracks WHERE snapshot_date = '{day}'",
    )

    assert views[0] == 0
    assert sorted(by_path.rows) == sorted(from_table.rows)
    assert by_path.rows
