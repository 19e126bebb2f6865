"""``make run`` against the real Spotify Web API: chosen when the environment asks for it.

With ``SPOTIFY_CLIENT_ID``/``SPOTIFY_CLIENT_SECRET`` (and optionally ``SPOTIFY_REFRESH_TOKEN``) and
``PLAYLISTS=id,id`` set, one run against api.spotify.com instead of the simulator. The variables, their
defaults and how they are read: :mod:`extract_lambda.settings`, as for the Lambda and ``spotify-etl extract``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from extract_lambda import settings
from extract_lambda.extractor import ExtractSettings
from spotify_etl.devtools.errors import PipelineConfigError

# What --offline hides from the run: the variables that switch it to the real API.
REAL_API_VARS: tuple[str, ...] = (*settings.CREDENTIALS, settings.PLAYLISTS)


@dataclass(frozen=True)
class RealApiSettings:
    """Credentials and playlists for one run against the real Spotify Web API (never printed)."""

    client_id: str
    client_secret: str = field(repr=False)
    refresh_token: str | None = field(default=None, repr=False)
    playlists: tuple[str, ...] = ()
    market: str = "US"
    api_base_url: str | None = None  # None: Spotify's own (the default of SPOTIFY_API_BASE_URL)
    token_url: str | None = None  # None: Spotify's own (the default of SPOTIFY_TOKEN_URL)

    def extract_settings(self) -> ExtractSettings:
        """The extract's settings for this run."""
        return ExtractSettings(
            playlist_ids=self.playlists,
            client_id=self.client_id,
            client_secret=self.client_secret,
            refresh_token=self.refresh_token,
            market=self.market,
            api_base_url=self.api_base_url or settings.default(settings.API_BASE_URL),
            token_url=self.token_url or settings.default(settings.TOKEN_URL),
        )


def real_api_settings(env: Mapping[str, str]) -> RealApiSettings | None:
    """The real-API settings when the environment asks for them; None for the offline default.

    Raises:
        PipelineConfigError: when the environment is half set (credentials without playlists, or the reverse).
    """
    credentials = settings.credentials_from(env)
    client_id, secret = credentials["client_id"] or "", credentials["client_secret"] or ""
    playlists = tuple(settings.comma_separated(env.get(settings.PLAYLISTS, "")))
    if not (client_id or secret or playlists):
        return None
    missing = settings.missing(env, settings.REQUIRED_CREDENTIALS) + (
        [] if playlists else [settings.PLAYLISTS]
    )
    if missing:
        raise PipelineConfigError(
            f"real-API mode needs {settings.CLIENT_ID}, {settings.CLIENT_SECRET} and {settings.PLAYLISTS}=id,id; "
            f"missing {', '.join(missing)} (unset them all, or pass --offline, to run on the simulator)"
        )
    return RealApiSettings(
        client_id,
        secret,
        credentials["refresh_token"],
        playlists,
        settings.value(env, settings.MARKET),
        settings.optional(env, settings.API_BASE_URL),
        settings.optional(env, settings.TOKEN_URL),
    )
