"""API calls per `make run` day over a simulated week: the extract against the simulator, as make run does.

Usage: .venv/bin/python bench/extract_api_calls.py [--dev]   (--dev: a Development Mode app)
For the figures "before" (docs/extract.md), run it with PYTHONPATH pointing at extract_lambda/ of 5354b21.
"""

import functools
import inspect
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from typing import Any

from extract_lambda.extractor import ExtractSettings, extract_playlists
from extract_lambda.landing import LocalLander
from spotify_etl.lake import LakeLayout, local_path
from spotify_etl.simulator.server import SimulatorServer
from spotify_etl.simulator.world import DEFAULT_PLAYLIST_IDS, ChartWorld

new = "state" in inspect.signature(extract_playlists).parameters
lake = Path(tempfile.mkdtemp())
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
        kwargs: dict[str, Any] = {}
        if new:
            from extract_lambda.state import LocalStateStore

            kwargs["state"] = LocalStateStore(LakeLayout.from_lake(lake).extract_state)
        report = extract_playlists(
            settings,
            LocalLander(local_path(LakeLayout.from_lake(lake).raw)),
            now=functools.partial(lambda at: at, moment),
            deadline=time.monotonic() + 300,
            **kwargs,
        )
        kinds = Counter(
            "token"
            if r.path == "/api/token"
            else "artists"
            if r.path.startswith("/v1/artists")
            else "playlist"
            if r.path.count("/") == 3
            else "items"
            for r in sim.requests
        )
        totals.append(len(sim.requests))
        print(day, len(sim.requests), dict(kinds), "landed", len(report.landed))
    print("week total", sum(totals), "mean per day", sum(totals) / 7)
