"""spotify-etl: extract, transform, crawl, query and report on the Spotify playlist lake.

Each subcommand lives in its own module, imported only when that subcommand runs, so that
``spotify-etl query`` never pays for importing Spark and ``spotify-etl extract`` never needs Java.
A command module exposes ``configure(parser)`` and ``run(args) -> int``.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

# subcommand -> (module, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "transform": (
        "spotify_etl.commands.transform",
        "Run the transform job locally (raw/ -> curated/ + quarantine/)",
    ),
    "bookmark": ("spotify_etl.commands.bookmark", "Inspect or reset the local job bookmark"),
    "extract": ("spotify_etl.commands.extract", "Fetch playlists from the Spotify Web API and land raw JSON"),
    "simulate-api": (
        "spotify_etl.commands.simulate_api",
        "Serve the offline Spotify API simulator on 127.0.0.1",
    ),
    "crawl": ("spotify_etl.commands.crawl", "Register the curated tables in the local catalog (crawler)"),
    "query": ("spotify_etl.commands.query", "Run Athena (Trino) SQL locally on the catalog"),
    "report": ("spotify_etl.commands.report", "Write the HTML report with charts"),
    "run": ("spotify_etl.commands.run", "Run the whole workflow locally (the template's graph)"),
    "quality": ("spotify_etl.commands.quality", "Judge the curated tables by the DQDL rules of quality/"),
    "audit": (
        "spotify_etl.commands.audit",
        "Account for every raw object: in the tables, quarantined, or not",
    ),
    "quarantine-raw": (
        "spotify_etl.commands.quarantine_raw",
        "Move raw objects Glue cannot decode to the quarantine (S3 lake; after a failed raw read)",
    ),
}


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """Build the parser; with ``only`` set, import just that subcommand's module."""
    parser = argparse.ArgumentParser(prog="spotify-etl", description=__doc__.splitlines()[0])
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (module_name, help_text) in COMMANDS.items():
        sub = subparsers.add_parser(name, help=help_text, description=help_text)
        if only in (None, name):
            module = importlib.import_module(module_name)
            module.configure(sub)
            sub.set_defaults(_module=module_name)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    chosen = next((a for a in args_list if a in COMMANDS), None)
    parser = build_parser(only=chosen)
    if chosen is None:
        parser.print_help() if not args_list else parser.parse_args(args_list)
        return 2
    args = parser.parse_args(args_list)
    module = importlib.import_module(args._module)
    code: int = module.run(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
