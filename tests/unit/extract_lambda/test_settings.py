"""extract_lambda/settings.py: one list of the Spotify environment's variables, read the same way by every program."""

from __future__ import annotations

import pytest

from extract_lambda import settings
from extract_lambda.handler import DEFAULTS, ENV_VARS, REQUIRED_ENV_VARS
from spotify_etl.commands.run import REAL_API_VARS


def test_each_program_reads_its_variables_from_the_one_list() -> None:
    names = [v.name for v in settings.VARIABLES]

    assert len(names) == len(set(names))
    assert settings.names_read_by(settings.LAMBDA) == ENV_VARS
    assert REQUIRED_ENV_VARS == ("RAW_BUCKET", "SPOTIFY_SECRET_ARN")
    assert settings.defaults_for(settings.LAMBDA) == DEFAULTS
    assert set(settings.CREDENTIALS) <= set(settings.names_read_by(settings.CLI))
    assert set(REAL_API_VARS) <= set(settings.names_read_by(settings.RUN))
    assert settings.PLAYLIST_IDS in ENV_VARS and settings.PLAYLISTS not in ENV_VARS


def test_a_variable_set_empty_reads_as_its_default() -> None:
    env = {"SPOTIFY_MARKET": "", "SPOTIFY_TOKEN_URL": "http://127.0.0.1:1/token"}

    assert settings.value(env, settings.MARKET) == "US"
    assert settings.value(env, settings.TOKEN_URL) == "http://127.0.0.1:1/token"
    assert settings.optional(env, settings.MARKET) is None
    assert settings.missing(env, settings.REQUIRED_CREDENTIALS) == [
        "SPOTIFY_CLIENT_ID",
        "SPOTIFY_CLIENT_SECRET",
    ]


def test_playlists_are_split_on_commas_and_numbers_are_checked() -> None:
    assert settings.comma_separated(" a1 , b2 ,, ") == ["a1", "b2"]
    assert settings.number({}, settings.ARTIST_CACHE_DAYS) == 7.0
    with pytest.raises(ValueError, match="ARTIST_CACHE_DAYS must be a number, got 'soon'"):
        settings.number({"ARTIST_CACHE_DAYS": "soon"}, settings.ARTIST_CACHE_DAYS)


def test_the_extract_settings_take_the_market_and_the_urls_from_the_environment() -> None:
    env = {"SPOTIFY_CLIENT_ID": "id", "SPOTIFY_CLIENT_SECRET": "s", "SPOTIFY_MARKET": "SE"}

    extract = settings.extract_settings(env, ("37i9dQZF1DXcBWIGoYBM5M",), settings.credentials_from(env))

    assert (extract.client_id, extract.refresh_token, extract.market) == ("id", None, "SE")
    assert extract.api_base_url == settings.default(settings.API_BASE_URL)
    assert (
        settings.extract_settings(env, ("x1",), {"client_id": "i", "client_secret": "s"}, market=None).market
        is None
    )
