"""The Spotify settings in the environment: the one list of their variable names and the one way to read them.

Three programs read them: the Lambda (:mod:`extract_lambda.handler`; its credentials come from the secret
``SPOTIFY_SECRET_ARN`` names), ``spotify-etl extract`` (:mod:`spotify_etl.commands.extract`) and ``make run``
in real-API mode (:mod:`spotify_etl.devtools.real_api`). :data:`VARIABLES` says which program reads which
variable and each one's default; every name, list and default those programs use is taken from here.

The playlists have two names, both kept: the Lambda's ``PLAYLIST_IDS`` (the template sets it; an event's
``playlist_ids`` overrides it) and ``make run``'s ``PLAYLISTS`` (its documented switch to the real API);
``spotify-etl extract`` takes ``--playlist`` arguments instead. All three accept ids, URIs and URLs.

This module lives in ``extract_lambda/`` because the Lambda's zip holds that package only.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from extract_lambda.client import SPOTIFY_TOKEN_URL
from extract_lambda.enrichment import DEFAULT_WINDOW_DAYS
from extract_lambda.extractor import ExtractSettings
from extract_lambda.landing import SPOTIFY_API_BASE_URL
from extract_lambda.report import DEFAULT_METRICS_NAMESPACE
from extract_lambda.state import STATE_PREFIX

# The programs that read the environment.
LAMBDA = "lambda"  # extract_lambda/handler.py
CLI = "spotify-etl extract"
RUN = "make run"  # real-API mode

# The names, one constant each.
RAW_BUCKET = "RAW_BUCKET"
RAW_PREFIX = "RAW_PREFIX"
PLAYLIST_IDS = "PLAYLIST_IDS"
SECRET_ARN = "SPOTIFY_SECRET_ARN"
MARKET = "SPOTIFY_MARKET"
API_BASE_URL = "SPOTIFY_API_BASE_URL"
TOKEN_URL = "SPOTIFY_TOKEN_URL"
LOG_LEVEL = "LOG_LEVEL"
STATE_PREFIX_VAR = "STATE_PREFIX"
ARTIST_CACHE_DAYS = "ARTIST_CACHE_DAYS"
METRICS_NAMESPACE = "METRICS_NAMESPACE"
CLIENT_ID = "SPOTIFY_CLIENT_ID"
CLIENT_SECRET = "SPOTIFY_CLIENT_SECRET"
REFRESH_TOKEN = "SPOTIFY_REFRESH_TOKEN"
PLAYLISTS = "PLAYLISTS"


@dataclass(frozen=True)
class Variable:
    """One environment variable: who reads it, its default (used when unset or empty), whether it must be set."""

    name: str
    readers: tuple[str, ...]
    default: str = ""
    required: bool = False


# Every variable, the Lambda's in the order of its contract (handler.ENV_VARS, the template's Environment).
VARIABLES: tuple[Variable, ...] = (
    Variable(RAW_BUCKET, (LAMBDA,), required=True),
    Variable(RAW_PREFIX, (LAMBDA,), "raw"),
    Variable(PLAYLIST_IDS, (LAMBDA,)),
    Variable(SECRET_ARN, (LAMBDA,), required=True),
    Variable(MARKET, (LAMBDA, CLI, RUN), "US"),
    Variable(API_BASE_URL, (LAMBDA, CLI, RUN), SPOTIFY_API_BASE_URL),
    Variable(TOKEN_URL, (LAMBDA, CLI, RUN), SPOTIFY_TOKEN_URL),
    Variable(LOG_LEVEL, (LAMBDA, CLI), "INFO"),
    Variable(STATE_PREFIX_VAR, (LAMBDA,), STATE_PREFIX),
    Variable(ARTIST_CACHE_DAYS, (LAMBDA,), f"{DEFAULT_WINDOW_DAYS:g}"),
    Variable(METRICS_NAMESPACE, (LAMBDA,), DEFAULT_METRICS_NAMESPACE),
    Variable(CLIENT_ID, (CLI, RUN)),
    Variable(CLIENT_SECRET, (CLI, RUN)),
    Variable(REFRESH_TOKEN, (CLI, RUN)),
    Variable(PLAYLISTS, (RUN,)),
)
_BY_NAME = {v.name: v for v in VARIABLES}

# The app's credentials when they come from the environment (the Lambda reads them from its secret).
CREDENTIALS: tuple[str, ...] = (CLIENT_ID, CLIENT_SECRET, REFRESH_TOKEN)
REQUIRED_CREDENTIALS: tuple[str, ...] = (CLIENT_ID, CLIENT_SECRET)
SECRETS: tuple[str, ...] = (CLIENT_SECRET, REFRESH_TOKEN)  # values never printed


def names_read_by(reader: str) -> tuple[str, ...]:
    """The names of the variables ``reader`` reads, in :data:`VARIABLES` order."""
    return tuple(v.name for v in VARIABLES if reader in v.readers)


def required_by(reader: str) -> tuple[str, ...]:
    """The names of the variables ``reader`` cannot run without."""
    return tuple(v.name for v in VARIABLES if reader in v.readers and v.required)


def defaults_for(reader: str) -> dict[str, str]:
    """Name -> default of the variables ``reader`` reads that have one."""
    return {v.name: v.default for v in VARIABLES if reader in v.readers and v.default}


def default(name: str) -> str:
    """The variable's default ("" when it has none)."""
    return _BY_NAME[name].default


def value(env: Mapping[str, str], name: str) -> str:
    """The variable's value, or its default when it is unset or empty."""
    return env.get(name) or _BY_NAME[name].default


def optional(env: Mapping[str, str], name: str) -> str | None:
    """The variable's value as set (no default); None when unset or empty."""
    return env.get(name) or None


def missing(env: Mapping[str, str], names: Iterable[str]) -> list[str]:
    """The names among ``names`` that are unset or empty, in order."""
    return [name for name in names if not env.get(name)]


def comma_separated(text: str) -> list[str]:
    """``" a , b ,"`` -> ``["a", "b"]``: how every playlist variable is split."""
    return [part.strip() for part in text.split(",") if part.strip()]


def number(env: Mapping[str, str], name: str) -> float:
    """The variable (or its default) as a number.

    Raises:
        ValueError: ``NAME must be a number, got '...'``.
    """
    text = value(env, name)
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"{name} must be a number, got {text!r}") from None


def extract_settings(
    env: Mapping[str, str],
    playlist_ids: tuple[str, ...],
    credentials: Mapping[str, str | None],
    **options: Any,
) -> ExtractSettings:
    """The extract's settings: the market and the API's URLs from ``env`` (or their defaults).

    Args:
        env: the environment.
        playlist_ids: what to extract.
        credentials: ``client_id``, ``client_secret`` and optionally ``refresh_token`` (from the environment:
            :func:`credentials_from`; on AWS from the secret).
        options: more :class:`ExtractSettings` fields, or overrides of the ones read here (``market``).
    """
    read: dict[str, Any] = {
        "market": value(env, MARKET) or None,
        "api_base_url": value(env, API_BASE_URL),
        "token_url": value(env, TOKEN_URL),
    }
    return ExtractSettings(
        playlist_ids=playlist_ids,
        client_id=credentials["client_id"] or "",
        client_secret=credentials["client_secret"] or "",
        refresh_token=credentials.get("refresh_token") or None,
        **{**read, **options},
    )


def credentials_from(env: Mapping[str, str]) -> dict[str, str | None]:
    """The app's credentials as set in the environment (``SPOTIFY_CLIENT_ID``, ...); None where unset."""
    return {
        "client_id": optional(env, CLIENT_ID),
        "client_secret": optional(env, CLIENT_SECRET),
        "refresh_token": optional(env, REFRESH_TOKEN),
    }
