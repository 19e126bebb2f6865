"""The CLI's conventions hold for every subcommand, including one added later."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from spotify_etl.cli import COMMANDS, build_parser

LAKE_LESS = {"simulate-api"}  # serves the API; touches no lake
S3_ONLY = {"quarantine-raw"}  # a deployed lake's operator command: --lake s3://... is required


@pytest.mark.parametrize("command", sorted(set(COMMANDS) - LAKE_LESS - S3_ONLY))
def test_every_lake_command_defaults_to_the_lake_that_make_run_writes(command: str) -> None:
    required = {"extract": ["--playlist", "p1"]}.get(command, [])
    if command == "bookmark":
        required = ["show"]
    args = build_parser(only=command).parse_args([command, *required])

    assert _lake_path(args.lake) == Path("lake")
    other = build_parser(only=command).parse_args([command, "--lake", "/tmp/other lake", *required])
    assert _lake_path(other.lake) == Path("/tmp/other lake")


def _lake_path(lake: object) -> Path:
    """A local command's --lake is the lake's layout, built once (the audit's, which may be S3, is the text)."""
    from spotify_etl.lake import LakeLayout

    return lake.local_root if isinstance(lake, LakeLayout) else Path(str(lake))


def test_the_audit_keeps_an_s3_lake_as_written() -> None:
    args = build_parser(only="audit").parse_args(["audit", "--lake", "s3://bucket/prefix"])

    assert args.lake == "s3://bucket/prefix"


def test_a_file_uri_lake_is_the_folder_it_names(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from spotify_etl.cli import main
    from spotify_etl.lake import LakeLayout
    from spotify_etl.runtime.local.bookmarks import LocalBookmarkStore, ObjectVersion

    lake = tmp_path / "my lake"
    store = LocalBookmarkStore(
        LakeLayout.from_lake(lake).bookmarks, "spotify-transform-playlists", "raw_playlists"
    )
    store.commit(
        [ObjectVersion("file:///raw/a.json.gz", 1_700_000_000_000)], datetime(2026, 11, 22, tzinfo=UTC)
    )

    assert main(["bookmark", "reset", "--lake", f"file://{lake}"]) == 0

    assert (
        capsys.readouterr().out
        == f"bookmark reset: {store.path} deleted; the next run reads every raw object\n"
    )
    assert not store.path.exists()


@pytest.mark.parametrize("command", ["transform", "bookmark", "crawl", "query", "report", "run"])
def test_a_local_command_refuses_an_s3_lake_in_one_line(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    args = [command, "--lake", "s3://bucket/lake"] + (["show"] if command == "bookmark" else [])

    with pytest.raises(SystemExit) as exit_info:
        build_parser(only=command).parse_args(args)

    assert exit_info.value.code == 2
    assert capsys.readouterr().err.splitlines()[-1] == (
        f"spotify-etl {command}: error: argument --lake: "
        "'s3://bucket/lake' is not a local path: the local runtime reads and writes file:// only"
    )


def test_messages_name_a_relative_lake_as_the_user_wrote_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from spotify_etl.cli import main

    monkeypatch.chdir(tmp_path)

    assert main(["query", "--lake", "rel-lake", "SELECT 1"]) == 1

    assert capsys.readouterr().err == (
        "spotify-etl query: no catalog at rel-lake/catalog.duckdb: run the crawler first (spotify-etl crawl --lake DIR)\n"
    )
