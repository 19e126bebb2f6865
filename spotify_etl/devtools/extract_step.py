"""The extract step of one ``make run`` day: the extract Lambda's code, landing under the lake's ``raw/``."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from extract_lambda.extractor import ExtractReport, ExtractSettings
from spotify_etl.lake import LakeLayout
from spotify_etl.local_extract import extract_into_lake

# The extract's budget per day (a local stand-in for the Lambda's remaining time).
EXTRACT_BUDGET_SECONDS = 300


def extract_day(
    settings: ExtractSettings, lake: LakeLayout, moment: datetime, say: Callable[[str], None]
) -> ExtractReport:
    """Extract every playlist of ``settings`` as if at ``moment``; prints the report's summary."""
    report = extract_into_lake(settings, lake, now=lambda: moment, deadline_seconds=EXTRACT_BUDGET_SECONDS)
    for line in report.summary().splitlines():
        say(f"      {line}")
    return report
