"""The simulated clock of ``make run``: which simulated days a lake has done, kept in the lake.

The state lives in ``_simulator/state.json`` (:attr:`spotify_etl.lake.LakeLayout.simulator_state`): the
world's seed and kind, the first day, the next day to run and the days done. A day is recorded only after
its workflow run completed, so re-running after a failure repeats that day.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from pathlib import Path

from spotify_etl.devtools.errors import PipelineConfigError
from spotify_etl.lake import LakeLayout

DEFAULT_NEW_LAKE_DAYS = 7
DEFAULT_NEXT_DAYS = 1
EXTRACT_HOUR_UTC = 3


@dataclass(frozen=True)
class SimulatorState:
    seed: int
    start: date
    next_day: date
    days_done: tuple[str, ...] = ()
    world: str = "chart"

    def to_json(self) -> str:
        return json.dumps(
            {
                "seed": self.seed,
                "start": self.start.isoformat(),
                "next_day": self.next_day.isoformat(),
                "days_done": list(self.days_done),
                "world": self.world,
            },
            indent=1,
        )

    def after(self, day: date) -> SimulatorState:
        """The state once ``day`` is done: the clock moves to the day after."""
        return SimulatorState(
            self.seed, self.start, day + timedelta(days=1), (*self.days_done, str(day)), self.world
        )


def extract_moment(day: date) -> datetime:
    """The instant the simulated day's extract runs (``EXTRACT_HOUR_UTC``:00 UTC)."""
    return datetime.combine(day, dtime(EXTRACT_HOUR_UTC, 0), tzinfo=UTC)


def load_state(lake: LakeLayout | Path) -> SimulatorState | None:
    path = LakeLayout.of(lake).simulator_state
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return SimulatorState(
            int(data["seed"]),
            date.fromisoformat(data["start"]),
            date.fromisoformat(data["next_day"]),
            tuple(data.get("days_done", ())),
            str(data.get("world", "chart")),
        )
    except (ValueError, KeyError, TypeError) as error:
        raise PipelineConfigError(
            f"{path} is not a valid simulator state ({error}); fix or delete it (deleting restarts the clock, "
            "the lake's data is kept)"
        ) from error


def save_state(lake: LakeLayout | Path, state: SimulatorState) -> None:
    """Atomic write (temp file + rename): a crash never leaves half a state file."""
    path = LakeLayout.of(lake).simulator_state
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(state.to_json(), encoding="utf-8")
    os.replace(tmp, path)
