"""The one ``--lake`` convention of every subcommand: optional, default ``./lake`` (where ``make run`` writes).

Commands that only ever touch a local lake take it as a :class:`~pathlib.Path`; ``audit`` also reads an S3 lake
and takes the text as given (``s3://bucket[/prefix]``).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from spotify_etl.lake import DEFAULT_LOCAL_LAKE


def add_lake_argument(parser: argparse.ArgumentParser, what: str, s3_allowed: bool = False) -> None:
    """Add ``--lake`` to ``parser``; ``what`` says what the command does with the lake."""
    where = "lake folder, or s3://bucket[/prefix] (boto3 credentials)" if s3_allowed else "lake folder"
    parser.add_argument(
        "--lake",
        type=str if s3_allowed else Path,
        default=DEFAULT_LOCAL_LAKE if s3_allowed else Path(DEFAULT_LOCAL_LAKE),
        help=f"{where}: {what} (default: ./{DEFAULT_LOCAL_LAKE})",
    )
