"""The one ``--lake`` convention of every subcommand: optional, default ``./lake`` (where ``make run`` writes).

Commands that only ever touch a local lake take a folder or a ``file://`` URI and get its
:class:`~spotify_etl.lake.LakeLayout`, built once here and passed down (an ``s3://`` lake is refused in one
line); ``audit`` also reads an S3 lake and takes the text as given.
"""

from __future__ import annotations

import argparse

from spotify_etl.lake import DEFAULT_LOCAL_LAKE, LakeLayout, NotLocalError, local_path


def local_lake(text: str) -> LakeLayout:
    """A local lake argument: a folder, or a ``file://`` URI taken literally."""
    try:
        return LakeLayout.from_lake(local_path(text))
    except NotLocalError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def add_lake_argument(parser: argparse.ArgumentParser, what: str, s3_allowed: bool = False) -> None:
    """Add ``--lake`` to ``parser``; ``what`` says what the command does with the lake."""
    where = "lake folder, or s3://bucket[/prefix] (boto3 credentials)" if s3_allowed else "lake folder"
    parser.add_argument(
        "--lake",
        type=str if s3_allowed else local_lake,
        default=DEFAULT_LOCAL_LAKE,
        help=f"{where}: {what} (default: ./{DEFAULT_LOCAL_LAKE})",
    )


def wait_seconds(text: str) -> float:
    """A ``--wait`` figure: seconds, not negative."""
    try:
        seconds = float(text)
    except ValueError:
        seconds = -1.0
    if not 0 <= seconds < float("inf"):
        raise argparse.ArgumentTypeError(f"--wait takes a number of seconds, not {text!r}")
    return seconds


def add_wait_argument(parser: argparse.ArgumentParser) -> None:
    """Add ``--wait [SECONDS]`` to a command that writes a lake (docs/design.md s.5, the writer lock)."""
    from spotify_etl.runtime.local.lock import DEFAULT_WAIT_SECONDS

    parser.add_argument(
        "--wait",
        nargs="?",
        type=wait_seconds,
        const=DEFAULT_WAIT_SECONDS,
        default=None,
        metavar="SECONDS",
        help="when another writer holds the lake, wait for it at most SECONDS "
        f"(default {DEFAULT_WAIT_SECONDS:g}) instead of refusing",
    )
