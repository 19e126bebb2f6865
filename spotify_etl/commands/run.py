"""``spotify-etl run``: the whole workflow locally (``make run``); see :mod:`spotify_etl.devtools.pipeline`.

Exit 0 when every day completed, 1 when a step failed (the message names it; what landed is kept and a
re-run retries), 2 on bad configuration (a broken template, half-set real-API variables, a corrupt
bookmark), 3 when another writer holds the lake's lock (``--wait`` waits for it instead), 4 on an environment
fault (a full disk, a read-only lake: nothing quarantined for it, the bookmark unmoved; re-run once it clears).
"""

from __future__ import annotations

import argparse
import os
from datetime import date
from pathlib import Path

from spotify_etl.aws_twin.workflow import DEFAULT_TEMPLATE, WorkflowError
from spotify_etl.commands.exits import EXIT_BAD_INPUT, EXIT_FAILED, EXIT_LOCKED, environment_exit, fail
from spotify_etl.commands.lake_argument import add_lake_argument, add_wait_argument
from spotify_etl.devtools.errors import PipelineError
from spotify_etl.devtools.pipeline import PipelineOptions, run_pipeline
from spotify_etl.devtools.real_api import REAL_API_VARS
from spotify_etl.runtime.local.bookmarks import BookmarkError
from spotify_etl.runtime.local.lock import LakeLocked
from spotify_etl.simulator.wild import WORLDS


def configure(parser: argparse.ArgumentParser) -> None:
    add_lake_argument(parser, "the whole pipeline runs on it")
    parser.add_argument(
        "--days",
        type=int,
        default=int(os.environ["DAYS"]) if os.environ.get("DAYS", "").isdigit() else None,
        help="simulated days to run (default: $DAYS, else 7 on a new lake and 1 more on an existing one)",
    )
    parser.add_argument("--template", type=Path, default=DEFAULT_TEMPLATE, help="CloudFormation template")
    parser.add_argument("--seed", type=int, default=7, help="simulator seed of a new lake (default 7)")
    parser.add_argument(
        "--start",
        type=date.fromisoformat,
        default=date(2026, 11, 1),
        help="first simulated day of a new lake",
    )
    parser.add_argument(
        "--offline", action="store_true", help="use the simulator even when real-API variables are set"
    )
    parser.add_argument("--no-report", action="store_true", help="skip the analysis and the report")
    add_wait_argument(parser)
    parser.add_argument(
        "--world",
        choices=WORLDS,
        default="chart",
        help="simulator world of a new lake: chart (default), or wild (awkward names, old dates, 10,000 items)",
    )


def run(args: argparse.Namespace) -> int:
    env = {k: v for k, v in os.environ.items() if not (args.offline and k in REAL_API_VARS)}
    try:
        options = PipelineOptions(
            lake=args.lake,
            days=args.days,
            template=args.template,
            seed=args.seed,
            start=args.start,
            report=not args.no_report,
            print_analysis=not args.no_report,
            wait=args.wait,
            world=args.world,
        )
        run_pipeline(options, env, say=lambda line: print(line, flush=True))
    except LakeLocked as error:
        return fail("run", error, EXIT_LOCKED)
    except (WorkflowError, ValueError, BookmarkError) as error:
        return fail("run", error, EXIT_BAD_INPUT)
    except PipelineError as error:
        return fail("run", f"FAILED: {error}", EXIT_FAILED)
    except Exception as error:
        return environment_exit("run", error)
    return 0
