"""``spotify-etl simulate-api``: serve the offline Spotify Web API simulator on 127.0.0.1.

It prints its URLs and its own fake credentials (safe to print: they open nothing but this simulator) as
``export`` lines for ``spotify-etl extract``, and serves until interrupted.
"""

from __future__ import annotations

import argparse
import threading
from datetime import UTC, date, datetime

from extract_lambda import settings
from spotify_etl.simulator.server import SimulatorServer
from spotify_etl.simulator.wild import WORLDS, make_world
from spotify_etl.simulator.world import EDITORIAL_PLAYLIST_ID


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: any free port)")
    parser.add_argument("--seed", type=int, default=7, help="seed of the chart world (default 7)")
    parser.add_argument(
        "--start", type=date.fromisoformat, default=date(2026, 11, 1), help="the world's day 0 (YYYY-MM-DD)"
    )
    parser.add_argument(
        "--day",
        type=date.fromisoformat,
        default=None,
        help="the simulated day to serve (default: today, UTC)",
    )
    parser.add_argument(
        "--dev-mode",
        action="store_true",
        help="behave like a Development Mode app: /tracks and batch /artists 403, items only for own playlists",
    )
    parser.add_argument(
        "--world",
        choices=WORLDS,
        default="chart",
        help="chart (default), or wild: awkward names, very old release dates, a 10,000-item playlist",
    )
    parser.add_argument(
        "--legacy-shape",
        action="store_true",
        help="serve the older 'tracks'/'track' shape instead of 'items'/'item'",
    )


def run(args: argparse.Namespace) -> int:
    world = make_world(args.world, seed=args.seed, start=args.start)
    server = SimulatorServer(world, port=args.port, dev_mode=args.dev_mode, legacy_shape=args.legacy_shape)
    server.start()
    server.set_day(args.day or datetime.now(UTC).date())
    try:
        print(f"Spotify API simulator on {server.base_url} (day {server.day}, dev mode {server.dev_mode}, "
              f"legacy shape {server.legacy_shape})")  # fmt: skip
        for name, value in server.env().items():
            print(f"export {name}={value}")
        print(f"export {settings.REFRESH_TOKEN}={server.refresh_token}   # optional: the user token flow")
        print(f"playlists ({args.world} world): " + " ".join(world.playlist_ids))
        print(f"editorial (answers 404): {EDITORIAL_PLAYLIST_ID}")
        print("Ctrl-C to stop.", flush=True)
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0
