"""One playlist from the Spotify Web API as one consistent observation: Get Playlist, every page of its items.

Get Playlist is asked for with ``fields`` (:data:`PLAYLIST_FIELDS`), so without its embedded first page of
items: the items come from ``/playlists/{id}/items`` only, ``limit`` at most :data:`MAX_PAGE_LIMIT`,
following ``next`` (a loop in the paging is refused).

The pages are separate requests, so a playlist edited while it is paged would give a torn list (items of
two versions under one ``snapshot_id``). A read counts only if it is whole and of one version:

- Get Playlist is asked again after the last page: both answers must carry the same ``snapshot_id``
  (Spotify gives every version of a playlist a new one). That closing request also opens the next read,
  so a re-read costs its pages plus one request;
- every page must report the same ``total`` and start where the previous one ended, and the chain must
  end with exactly ``total`` items (a chain cut short, or one running past ``total``, is stopped there).

A read that fails these checks is done again, at most :data:`MAX_READS` reads in all; then the playlist
fails with reason ``inconsistent_read`` and nothing lands for it.

Spotify's refusals become messages a user can act on (:func:`explain_http`, :func:`explain_oauth`): each an
:class:`ExtractError` with a reason.
"""

from __future__ import annotations

import logging
from typing import Any, NamedTuple

import spotipy
from spotipy.oauth2 import SpotifyOauthError

from extract_lambda.client import AUTH_CLIENT_CREDENTIALS, ApiCaller, ExtractError
from extract_lambda.logs import log_event

MAX_PAGE_LIMIT = 50
MAX_READS = 3  # a first read and at most two re-reads of a playlist edited while it was paged
# Get Playlist without its embedded items paging (`items`/`tracks`): the items come from /items only.
# The top-level keys of a real answer (tests/../spotify-recorded/get_playlist.json) minus the paging.
PLAYLIST_FIELDS = (
    "collaborative,description,external_urls,followers,href,id,images,name,owner,primary_color,public,"
    "snapshot_id,type,uri"
)
ITEM_TYPES = ("track", "episode")
logger = logging.getLogger("extract_lambda.fetch")


class Observation(NamedTuple):
    playlist: dict[str, Any]  # Get Playlist's answer, of the same snapshot_id before and after the pages
    items: list[dict[str, Any]]  # every item of every page, in playlist order
    pages: int
    reads: int  # 1, or more when the playlist changed while it was paged


def fetch_playlist(
    caller: ApiCaller, playlist_id: str, *, page_limit: int, market: str | None, auth_flow: str
) -> Observation:
    """The playlist and every one of its items, all of one version.

    Raises:
        ExtractError: ``inconsistent_read`` after :data:`MAX_READS` torn reads; otherwise the API's answer
            explained (``auth_flow`` names the flow in the explanation).
    """
    what = f"GET /playlists/{playlist_id}"
    try:
        playlist = _get_playlist(caller, playlist_id, market)
        problem = ""
        for read in range(1, MAX_READS + 1):
            what = f"GET /playlists/{playlist_id}/items"
            items, pages, problem = _page_items(caller, playlist_id, page_limit, market)
            what = f"GET /playlists/{playlist_id}"
            after = _get_playlist(caller, playlist_id, market)
            if not problem and after.get("snapshot_id") != playlist.get("snapshot_id"):
                problem = "its snapshot_id changed while its pages were read (edited meanwhile)"
            if not problem:
                return Observation(playlist, items, pages, read)
            log_event(
                logger,
                "inconsistent_read",
                logging.WARNING,
                playlist_id=playlist_id,
                read=read,
                problem=problem,
            )
            playlist = after
    except spotipy.SpotifyException as error:
        raise explain_http(error, what, auth_flow) from None
    raise ExtractError(
        "inconsistent_read",
        f"{MAX_READS} reads of playlist {playlist_id} gave no consistent whole (last: {problem}): nothing landed "
        "for it; the next run reads it again",
    )


def _get_playlist(caller: ApiCaller, playlist_id: str, market: str | None) -> dict[str, Any]:
    what = f"GET /playlists/{playlist_id}"
    client = caller.client
    playlist = caller.call(
        what, client.playlist, playlist_id, fields=PLAYLIST_FIELDS, market=market, additional_types=ITEM_TYPES
    )
    if not isinstance(playlist, dict) or not playlist.get("id"):
        raise ExtractError("bad_response", f"{what} returned no playlist object")
    return playlist


def _page_items(
    caller: ApiCaller, playlist_id: str, page_limit: int, market: str | None
) -> tuple[list[dict[str, Any]], int, str]:
    """(items, pages, problem): every page from offset 0; ``problem`` is "" for a whole chain of one total."""
    client = caller.client
    what = f"GET /playlists/{playlist_id}/items"
    page = caller.call(
        what, client.playlist_items, playlist_id, limit=page_limit, offset=0, market=market,
        additional_types=ITEM_TYPES,
    )  # fmt: skip
    items: list[dict[str, Any]] = []
    total: int | None = None
    seen_urls: set[str] = set()
    while True:
        if not isinstance(page, dict) or not isinstance(page.get("items"), list):
            raise ExtractError("bad_response", f"{what} page {len(seen_urls) + 1} has no 'items' array")
        if not isinstance(page.get("total"), int):
            raise ExtractError("bad_response", f"{what} page {len(seen_urls) + 1} has no integer 'total'")
        total = page["total"] if total is None else total
        if page["total"] != total:
            return (
                items,
                len(seen_urls) + 1,
                f"its total changed from {total} to {page['total']} between pages",
            )
        if page.get("offset", len(items)) != len(items):
            return (
                items,
                len(seen_urls) + 1,
                f"a page starts at offset {page.get('offset')}, not {len(items)}",
            )
        items.extend(page["items"])
        pages = len(seen_urls) + 1
        if len(items) > total:
            return items, pages, f"its pages gave {len(items)} items, more than its total {total}"
        next_url = page.get("next")
        if not next_url:
            break
        if next_url in seen_urls:
            raise ExtractError("bad_response", f"{what} paging loops back to {next_url}")
        seen_urls.add(next_url)
        what = f"GET /playlists/{playlist_id}/items (page {pages + 1})"
        page = caller.call(what, client.next, page)
    if len(items) < total:
        return items, pages, f"its pages ended after {len(items)} of its {total} items"
    return items, pages, ""


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
