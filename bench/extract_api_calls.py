"""API calls per `make run` day over a simulated week: the extract against the simulator, as make run does.

Usage: .venv/bin/python bench/extract_api_calls.py [--dev]   (--dev: a Development Mode app)
The run is :func:`spotify_etl.local_extract.extract_into_lake`, the one `make run` and `spotify-etl extract`
use. The figures of earlier commits are in docs/performance.md.
"""

import functools
import sys
import tempfile
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from pathlib import Path

from extract_lambda.extractor import ExtractSettings
from spotify_etl.lake import LakeLayout
from spotify_etl.local_extract import extract_into_lake
from spotify_etl.simulator.server import SimulatorServer
from spotify_etl.simulator.world import DEFAULT_PLAYLIST_IDS, ChartWorld


def kind(path: str) -> str:
    if path == "/api/token":
        return "token"
    if path.startswith("/v1/artists"):
        return "artists"
    return "playlist" if path.count("/") == 3 else "items"


lake = LakeLayout.from_lake(Path(tempfile.mkdtemp()))
start = date(2026, 11, 1)
with SimulatorServer(ChartWorld(seed=7, start=start), dev_mode="--dev" in sys.argv) as sim:
    settings = ExtractSettings(
        playlist_ids=DEFAULT_PLAYLIST_IDS,
        client_id=sim.client_id,
        client_secret=sim.client_secret,
        refresh_token=(sim.refresh_token if "--dev" in sys.argv else None),
        api_base_url=sim.api_base_url,
        token_url=sim.token_url,
    )
    totals = []
    for d in range(7):
        day = start + timedelta(days=d)
        sim.set_day(day)
        sim.clear_requests()
        moment = datetime.combine(day, dtime(3, 0), tzinfo=UTC)
        report = extract_into_lake(
            settings, lake, now=functools.partial(lambda at: at, moment), deadline_seconds=300
        )
        kinds = Counter(kind(r.path) for r in sim.requests)
        totals.append(len(sim.requests))
        print(day, len(sim.requests), dict(kinds), "landed", len(report.landed))
    print("week total", sum(totals), "mean per day", sum(totals) / 7)
