"""The analysis printed at the end of ``make run``: a few rows of a few Athena queries, as tables.

Every query is also in the report and ``spotify-etl query --name``; :data:`PRINTED` says which columns and
rows of each are printed here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from spotify_etl.aws_twin import athena


@dataclass(frozen=True)
class Printed:
    """How one query's result is printed at the end of a run: which columns, which rows, how many."""

    query: str
    columns: tuple[str, ...]
    max_rows: int
    keep: Callable[[dict[str, Any], dict[str, Any]], bool] = lambda _row, _ctx: True


PRINTED: tuple[Printed, ...] = (
    Printed(
        "daily_chart_rank_change",
        ("playlist_name", "snapshot_date", "chart_rank", "track_name", "previous_rank", "movement"),
        20,
        lambda row, _ctx: int(row["chart_rank"]) <= 3,
    ),
    Printed(
        "new_entries_per_day",
        ("snapshot_date", "playlist_name", "new_entries", "dropouts"),
        20,
        lambda row, ctx: row["snapshot_date"] == ctx["latest"],
    ),
    Printed(
        "longest_running_tracks",
        ("playlist_name", "track_name", "days_on_chart", "best_rank", "first_seen_date", "still_on_chart"),
        6,
    ),
    Printed(
        "artist_chart_presence", ("artist_name", "chart_entries", "tracks", "playlists", "entry_share"), 5
    ),
    Printed("genre_share", ("genre", "chart_entries", "share"), 5),
    Printed(
        "explicit_share_over_time",
        ("snapshot_date", "playlist_name", "chart_tracks", "explicit_tracks", "explicit_share"),
        20,
        lambda row, ctx: row["snapshot_date"] == ctx["latest"],
    ),
)


def print_analysis(queries: Mapping[str, athena.QueryResult], lake: Path, say: Callable[[str], None]) -> None:
    """Print each query of :data:`PRINTED` that ran, with the question it answers."""
    questions = {name: q.question for name, q in athena.load_queries().items()}
    dates = [str(r["snapshot_date"]) for q in queries.values() for r in q.as_dicts() if "snapshot_date" in r]
    ctx: dict[str, Any] = {"latest": max(dates, default=None)}
    for spec in PRINTED:
        if spec.query not in queries:
            continue
        full = queries[spec.query]
        kept = [r for r in full.as_dicts() if spec.keep(r, ctx)]
        shown = athena.QueryResult(
            spec.query, spec.columns, tuple(tuple(r[c] for c in spec.columns) for r in kept[: spec.max_rows])
        )
        say("")
        say(f"== {spec.query}: {questions.get(spec.query, '')}")
        say(athena.format_result(shown, "table"))
        if len(kept) < len(full.rows) or len(kept) > spec.max_rows:
            say(f"(selected from {len(full.rows)} rows: spotify-etl query --lake {lake} --name {spec.query})")
