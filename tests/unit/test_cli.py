"""The CLI's conventions hold for every subcommand, including one added later."""

from __future__ import annotations

from pathlib import Path

import pytest

from spotify_etl.cli import COMMANDS, build_parser

LAKE_LESS = {"simulate-api"}  # serves the API; touches no lake


@pytest.mark.parametrize("command", sorted(set(COMMANDS) - LAKE_LESS))
def test_every_lake_command_defaults_to_the_lake_that_make_run_writes(command: str) -> None:
    required = {"extract": ["--playlist", "p1"]}.get(command, [])
    if command == "bookmark":
        required = ["show"]
    args = build_parser(only=command).parse_args([command, *required])

    assert Path(args.lake) == Path("lake")
    other = build_parser(only=command).parse_args([command, "--lake", "/tmp/other lake", *required])
    assert Path(other.lake) == Path("/tmp/other lake")


def test_the_audit_keeps_an_s3_lake_as_written() -> None:
    args = build_parser(only="audit").parse_args(["audit", "--lake", "s3://bucket/prefix"])

    assert args.lake == "s3://bucket/prefix"
