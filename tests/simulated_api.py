"""spotipy against the simulator, set up one way for every extract test (nothing patched: real HTTP on 127.0.0.1).

A test module serves a world with :func:`serving` (as its module-scoped ``server`` fixture), points the
extract at it with :func:`settings_for`, runs it with :func:`extract` and reads what landed with
:func:`read_envelope`.
"""

from __future__ import annotations

import gzip
import json
import time
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path

from extract_lambda.extractor import ExtractReport, ExtractSettings
from spotify_etl.lake import LakeLayout, local_path
from spotify_etl.local_extract import extract_into_lake
from spotify_etl.simulator.server import SimulatorServer
from spotify_etl.simulator.world import ChartWorld

DAY0 = date(2026, 11, 1)
AT = datetime(2026, 11, 1, 3, 0, 5, tzinfo=UTC)  # the scheduled extract of DAY0


def serving(world: ChartWorld) -> Iterator[SimulatorServer]:
    """The simulator serving ``world`` for as long as the fixture lives."""
    with SimulatorServer(world) as server:
        yield server


def settings_for(server: SimulatorServer, *playlist_ids: str, **overrides: object) -> ExtractSettings:
    """Extract settings pointing at ``server`` with its credentials (5 s request timeout unless overridden)."""
    values: dict[str, object] = {
        "playlist_ids": playlist_ids,
        "client_id": server.client_id,
        "client_secret": server.client_secret,
        "api_base_url": server.api_base_url,
        "token_url": server.token_url,
        "requests_timeout": 5.0,
        **overrides,
    }
    return ExtractSettings(**values)  # type: ignore[arg-type]


def extract(
    server: SimulatorServer,
    lake: Path,
    *playlist_ids: str,
    at: datetime = AT,
    deadline_s: float = 60.0,
    sleep: Callable[[float], None] = time.sleep,
    keep_state: bool = False,
    **overrides: object,
) -> ExtractReport:
    """One extract run of ``playlist_ids`` from ``server`` into the local ``lake`` as if at ``at``.

    It is the run ``spotify-etl extract`` and ``make run`` do (:func:`extract_into_lake`); ``keep_state``:
    with the artist cache under ``lake/_state/extract/``.
    """
    return extract_into_lake(
        settings_for(server, *playlist_ids, **overrides),
        LakeLayout.from_lake(lake),
        now=lambda: at,
        deadline_seconds=deadline_s,
        sleep=sleep,
        keep_state=keep_state,
    )


def read_envelope(uri: str) -> dict:
    """The envelope landed at ``uri`` (one JSON line, gzipped)."""
    lines = gzip.decompress(local_path(uri).read_bytes()).decode("utf-8").splitlines()
    assert len(lines) == 1
    return json.loads(lines[0])
