"""Spotify's refusals as messages a user can act on: each an :class:`ExtractError` with a reason."""

from __future__ import annotations

import spotipy
from spotipy.oauth2 import SpotifyOauthError

from extract_lambda.client import AUTH_CLIENT_CREDENTIALS, ExtractError


def explain_http(error: spotipy.SpotifyException, what: str, auth_flow: str | None) -> ExtractError:
    """An HTTP error as a message a user can act on."""
    status = error.http_status
    detail = str(error.msg).split("\n")[-1].strip() if error.msg else ""
    if status == 404:
        return ExtractError(
            "not_found",
            f"not found (404) on {what}. Spotify-owned editorial and algorithmic playlists (such as "
            "'Top 50 - Global' and other 37i9dQZ... ids) are unavailable to apps created after 2024-11-27; "
            "otherwise check the playlist id",
            404,
        )
    if status == 403:
        if auth_flow == AUTH_CLIENT_CREDENTIALS:
            hint = (
                "client-credentials tokens carry no user, so a Development Mode app cannot read playlist "
                "items with them: set a refresh token of the playlist's owner or collaborator "
                "(SPOTIFY_REFRESH_TOKEN locally, refresh_token in the Lambda's secret), or use an app with "
                "extended quota"
            )
        else:
            hint = (
                "the authorizing user neither owns nor collaborates on this playlist: use a refresh token of "
                "its owner or a collaborator, or an app with extended quota"
            )
        return ExtractError(
            "forbidden",
            f"forbidden (403) on {what}. A Development Mode app reads playlist items only for playlists its "
            f"user owns or collaborates on; {hint}",
            403,
        )
    if status == 401:
        return ExtractError(
            "unauthorized",
            f"unauthorized (401) on {what}: the access token was rejected ({detail or 'no detail'}); check "
            "the app's client id and secret, and that the refresh token has not been revoked",
            401,
        )
    return ExtractError("http_error", f"Spotify answered {status} on {what}: {detail or error.msg}", status)


def explain_oauth(error: SpotifyOauthError) -> ExtractError:
    code = getattr(error, "error", None) or "unknown"
    description = getattr(error, "error_description", None) or ""
    if code == "invalid_grant":
        return ExtractError(
            "unauthorized",
            f"the token endpoint refused the refresh token ({code}: {description}): it is invalid, expired or "
            "revoked; authorize the app again (authorization code flow) and store the new refresh token",
        )
    if code in ("invalid_client", "unauthorized_client", "invalid_request", "unsupported_grant_type"):
        return ExtractError(
            "unauthorized",
            f"the token endpoint rejected the app's credentials ({code}: {description}); check the client id "
            "and client secret (SPOTIFY_CLIENT_ID/SPOTIFY_CLIENT_SECRET locally, the Lambda's secret on AWS)",
        )
    return ExtractError("token_error", f"the token request failed ({code}: {description or 'no detail'})")
