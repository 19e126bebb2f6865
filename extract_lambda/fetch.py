"""One playlist from the Spotify Web API: Get Playlist, then every page of its items in order.

Get Playlist is asked for with ``fields`` (:data:`PLAYLIST_FIELDS`), so without its embedded first page of
items: the items come from ``/playlists/{id}/items`` only, ``limit`` at most :data:`MAX_PAGE_LIMIT`,
following ``next`` (a loop in the paging is refused).
"""

from __future__ import annotations

from typing import Any

import spotipy

from extract_lambda.client import ApiCaller, ExtractError
from extract_lambda.explain import explain_http

MAX_PAGE_LIMIT = 50
# Get Playlist without its embedded items paging (`items`/`tracks`): the items come from /items only.
# The top-level keys of a real answer (tests/../spotify-recorded/get_playlist.json) minus the paging.
PLAYLIST_FIELDS = (
    "collaborative,description,external_urls,followers,href,id,images,name,owner,primary_color,public,"
    "snapshot_id,type,uri"
)
ITEM_TYPES = ("track", "episode")


def fetch_playlist(
    caller: ApiCaller, playlist_id: str, *, page_limit: int, market: str | None, auth_flow: str
) -> tuple[dict[str, Any], list[dict[str, Any]], int]:
    """(Get Playlist object, every item in order, pages fetched).

    Raises:
        ExtractError: the API's answer explained (``auth_flow`` names the flow in the explanation).
    """
    client = caller.client
    what = f"GET /playlists/{playlist_id}"
    try:
        playlist = caller.call(
            what,
            client.playlist,
            playlist_id,
            fields=PLAYLIST_FIELDS,
            market=market,
            additional_types=ITEM_TYPES,
        )
        if not isinstance(playlist, dict) or not playlist.get("id"):
            raise ExtractError("bad_response", f"{what} returned no playlist object")
        items: list[dict[str, Any]] = []
        pages = 0
        what = f"GET /playlists/{playlist_id}/items"
        page = caller.call(
            what,
            client.playlist_items,
            playlist_id,
            limit=page_limit,
            offset=0,
            market=market,
            additional_types=ITEM_TYPES,
        )
        seen_urls: set[str] = set()
        while True:
            if not isinstance(page, dict) or not isinstance(page.get("items"), list):
                raise ExtractError("bad_response", f"{what} page {pages + 1} has no 'items' array")
            pages += 1
            items.extend(page["items"])
            next_url = page.get("next")
            if not next_url:
                break
            if next_url in seen_urls:
                raise ExtractError("bad_response", f"{what} paging loops back to {next_url}")
            seen_urls.add(next_url)
            what = f"GET /playlists/{playlist_id}/items (page {pages + 1})"
            page = caller.call(what, client.next, page)
        return playlist, items, pages
    except spotipy.SpotifyException as error:
        raise explain_http(error, what, auth_flow) from None
