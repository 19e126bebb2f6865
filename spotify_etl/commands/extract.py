"""``spotify-etl extract``: the extract Lambda's code, run locally, landing under ``LAKE/raw/``.

Credentials come from ``SPOTIFY_CLIENT_ID``, ``SPOTIFY_CLIENT_SECRET`` and, for Development Mode apps,
``SPOTIFY_REFRESH_TOKEN``; the API from ``SPOTIFY_API_BASE_URL`` and ``SPOTIFY_TOKEN_URL`` (defaults: Spotify's
own; point them at ``spotify-etl simulate-api`` to run offline). Exit 0 when every playlist landed, 1 when
any failed (after landing the others; the summary names each one and why), 2 on bad configuration.

The artist cache lives in ``LAKE/_state/extract/`` as on AWS (``s3://<bucket>/_state/extract/``). When
Spotify rotates the refresh token, the new one goes to ``LAKE/_state/extract/spotify_refresh_token``
(mode 600, on disk before it is used) and a warning says to update ``SPOTIFY_REFRESH_TOKEN``; the token is
never printed. A folder that cannot take it stops the run before the token is used, in one line
(:mod:`spotify_etl.local_extract`).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping
from datetime import UTC, datetime

from extract_lambda import settings
from extract_lambda.enrichment import DEFAULT_WINDOW_DAYS
from extract_lambda.extractor import ExtractSettings
from extract_lambda.logs import configure_cli_logging
from spotify_etl.commands.lake_argument import add_lake_argument
from spotify_etl.local_extract import extract_into_lake


def configure(parser: argparse.ArgumentParser) -> None:
    add_lake_argument(parser, "objects land under LAKE/raw/")
    parser.add_argument(
        "--playlist",
        action="append",
        required=True,
        metavar="ID",
        help="playlist id, spotify:playlist: URI or open.spotify.com URL (repeatable)",
    )
    parser.add_argument(
        "--market",
        default=os.environ.get(settings.MARKET, settings.default(settings.MARKET)),
        help=f"ISO 3166-1 alpha-2 market (default: ${settings.MARKET} or {settings.default(settings.MARKET)})",
    )
    parser.add_argument(
        "--deadline-seconds",
        type=float,
        default=600.0,
        help="stop after this many seconds: no request, retry or Retry-After wait goes past it (default 600)",
    )
    parser.add_argument(
        "--request-cap-seconds",
        type=float,
        default=30.0,
        help="wall-clock cap of one request, connect to last byte (default 30)",
    )
    parser.add_argument(
        "--concurrency", type=int, default=4, help="playlists extracted at once, 1..8 (default 4)"
    )
    parser.add_argument(
        "--artist-cache-days",
        type=float,
        default=DEFAULT_WINDOW_DAYS,
        help=f"artists fetched within this many days are taken from the cache (default {DEFAULT_WINDOW_DAYS:g}; 0: always fetch)",
    )
    log_level = settings.default(settings.LOG_LEVEL)
    parser.add_argument(
        "--log-level", default=os.environ.get(settings.LOG_LEVEL, log_level), help=f"default: {log_level}"
    )


def settings_from_env(args: argparse.Namespace, env: Mapping[str, str]) -> ExtractSettings:
    """Settings from the arguments and the environment; ValueError names what is missing."""
    missing = settings.missing(env, settings.REQUIRED_CREDENTIALS)
    if missing:
        raise ValueError(
            f"missing {' and '.join(missing)}: set the app's credentials in the environment "
            "(or run `spotify-etl simulate-api` and export what it prints)"
        )
    return settings.extract_settings(
        env,
        tuple(args.playlist),
        settings.credentials_from(env),
        market=args.market or None,
        request_cap_seconds=args.request_cap_seconds,
        max_concurrency=args.concurrency,
        artist_cache_days=args.artist_cache_days,
    )


def run(args: argparse.Namespace) -> int:
    env = os.environ
    redactor = configure_cli_logging(args.log_level, [env.get(n) for n in settings.SECRETS])
    try:
        extract = settings_from_env(args, env)
    except ValueError as error:
        print(f"spotify-etl extract: {error}", file=sys.stderr)
        return 2
    report = extract_into_lake(
        extract,
        args.lake,  # a LakeLayout (add_lake_argument parses --lake)
        now=lambda: datetime.now(UTC),
        deadline_seconds=args.deadline_seconds,
        redactor=redactor,
    )
    print(report.summary())
    for landed in report.landed:
        outcome = "landed" if landed.created else "already present"
        print(
            f"  {landed.playlist_id}: {outcome}, {landed.items} items in {landed.pages} pages -> {landed.uri}"
        )
    return 0 if report.ok else 1
