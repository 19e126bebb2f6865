"""The extract step of one ``make run`` day: the extract Lambda's code, landing under the lake's ``raw/``."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from extract_lambda.extractor import ExtractReport, ExtractSettings, extract_playlists
from extract_lambda.landing import LocalLander
from extract_lambda.state import LocalStateStore
from spotify_etl.lake import LakeLayout, local_path

# The extract's budget per day (a local stand-in for the Lambda's remaining time).
EXTRACT_BUDGET_SECONDS = 300


def extract_day(
    settings: ExtractSettings, lake: Path, moment: datetime, say: Callable[[str], None]
) -> ExtractReport:
    """Extract every playlist of ``settings`` as if at ``moment``; prints the report's summary."""
    layout = LakeLayout.from_lake(lake)
    report = extract_playlists(
        settings,
        LocalLander(local_path(layout.raw)),
        now=lambda: moment,
        deadline=time.monotonic() + EXTRACT_BUDGET_SECONDS,
        state=LocalStateStore(layout.extract_state),
    )
    for line in report.summary().splitlines():
        say(f"      {line}")
    return report
