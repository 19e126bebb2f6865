"""Every failure a user can cause or meet is one line with its documented exit code (docs/design.md s.7)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from pyspark.sql import SparkSession

from spotify_etl.cli import main
from spotify_etl.lake import LakeLayout, local_path


def _one_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    return err


def _bookmark(lake: Path, mark: object) -> Path:
    path = (
        local_path(LakeLayout.from_lake(lake).bookmarks)
        / "spotify-transform-playlists"
        / "raw_playlists.json"
    )
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"version": 1, "high_water_ms": mark, "band": [], "runs": 1}))
    return path


@pytest.mark.parametrize(
    "command", [["bookmark", "show"], ["bookmark", "rewind", "--to", "2026-01-01"], ["transform"]]
)
def test_a_mark_no_instant_can_hold_is_a_corrupt_bookmark(
    tmp_path: Path, command: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    _bookmark(tmp_path, 99999999999999999999999)
    (tmp_path / "raw").mkdir()

    assert main([*command, "--lake", str(tmp_path)]) == 2
    assert "high_water_ms 99999999999999999999999 is not an instant of years 1 to 9999 UTC" in _one_line(
        capsys
    )


@pytest.mark.parametrize(
    ("to", "message"),
    [
        ("0001-01-01T00:00:00+01:00", "'0001-01-01T00:00:00+01:00' is outside years 1 to 9999 in UTC"),
        ("10000-01-01", "'10000-01-01' is not an ISO-8601 time like 2026-11-20T00:00:00Z or a date like"),
    ],
)
def test_rewind_to_a_year_outside_1_to_9999_is_refused_and_writes_nothing(
    tmp_path: Path, to: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _bookmark(tmp_path, 1_790_000_000_000)
    before = path.read_text()

    with pytest.raises(SystemExit) as exited:
        main(["bookmark", "rewind", "--lake", str(tmp_path), "--to", to])

    assert exited.value.code == 2
    assert message in capsys.readouterr().err
    assert path.read_text() == before
    assert main(["bookmark", "show", "--lake", str(tmp_path)]) == 0


def test_a_corrupt_catalog_is_one_line_for_crawl_query_and_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    LakeLayout.from_lake(tmp_path).catalog_file.write_bytes(b"garbage" * 1000)
    remedy = "is not a DuckDB database (corrupt?); it holds nothing the lake does not: delete it and run"

    assert main(["crawl", "--lake", str(tmp_path)]) == 1
    assert remedy in _one_line(capsys)
    assert main(["query", "--lake", str(tmp_path), "SELECT 1"]) == 1
    assert remedy in _one_line(capsys)
    assert main(["report", "--lake", str(tmp_path)]) == 1
    assert remedy in _one_line(capsys)
    page = (LakeLayout.from_lake(tmp_path).report_dir / "index.html").read_text()
    assert "Report failed" in page and "is not a DuckDB database" in page


def test_crawl_says_in_one_line_that_another_process_has_the_catalog_open(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    catalog = LakeLayout.from_lake(tmp_path).catalog_file
    duckdb.connect(str(catalog)).close()
    reader = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import duckdb,sys; c=duckdb.connect({str(catalog)!r}, read_only=True); "
            "print('open', flush=True); sys.stdin.readline()",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert reader.stdout is not None and reader.stdout.readline() == "open\n"
        assert main(["crawl", "--lake", str(tmp_path)]) == 1
        assert f"the catalog {catalog} is open in another process" in _one_line(capsys)
    finally:
        reader.kill()
        reader.wait()


def test_run_on_a_corrupt_bookmark_stops_with_the_bookmarks_error_not_re_run_to_retry(
    spark: SparkSession, tmp_path: Path
) -> None:
    from spotify_etl.devtools.pipeline import PipelineOptions, run_pipeline
    from spotify_etl.runtime.local.bookmarks import BookmarkError

    _bookmark(tmp_path, "not a mark")
    options = PipelineOptions(lake=tmp_path, days=1, report=False, print_analysis=False)

    with pytest.raises(BookmarkError, match=r"is corrupt .*reset it with 'spotify-etl bookmark reset"):
        run_pipeline(options, {}, say=lambda _line: None, spark=spark)
