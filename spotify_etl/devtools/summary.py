"""What one ``make run`` did, per day and in total, and the summary printed at its end."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from spotify_etl.aws_twin import athena
from spotify_etl.aws_twin.crawler import CrawlResult
from spotify_etl.lake import LakeLayout


@dataclass
class DayResult:
    day: str
    objects_landed: int
    playlists_failed: int
    objects_processed: int
    objects_rejected: int
    rows_written: int
    files_written: int
    seconds_extract: float
    seconds_workflow: float


@dataclass
class PipelineResult:
    layout: LakeLayout
    mode: str
    days: list[DayResult] = field(default_factory=list)
    last_crawl: CrawlResult | None = None
    queries: dict[str, athena.QueryResult] = field(default_factory=dict)
    report_index: Path | None = None
    seconds: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def lake(self) -> Path:
        return self.layout.local_root

    @property
    def catalog(self) -> Path:
        return self.layout.catalog_file


def _day_line(d: DayResult) -> str:
    return (
        f"  {d.day}: landed {d.objects_landed} objects"
        + (f" ({d.playlists_failed} playlists failed)" if d.playlists_failed else "")
        + f", transform processed {d.objects_processed} objects ({d.objects_rejected} quarantined) "
        f"-> {d.rows_written} rows in {d.files_written} files; "
        f"extract {d.seconds_extract:.1f}s, workflow {d.seconds_workflow:.1f}s"
    )


def print_summary(result: PipelineResult, say: Callable[[str], None]) -> None:
    say("")
    say("== summary")
    say(f"mode: {result.mode}")
    for d in result.days:
        say(_day_line(d))
    if result.last_crawl is not None:
        crawl = result.last_crawl
        parts = ", ".join(f"{n} ({len(t.partitions)})" for n, t in sorted(crawl.tables.items()))
        say(f"catalog: {result.catalog}: tables (partitions): {parts}")
    say(f"lake: {result.lake} (raw/, curated/, quarantine/, _bookmarks/)")
    if result.report_index is not None:
        say(f"report: {result.report_index}")
    if result.queries:
        say(f"queries run: {len(result.queries)} ({', '.join(sorted(result.queries))})")
    say(f"total {result.seconds:.1f}s")
    say(f'next: spotify-etl query --lake {result.lake} --name daily_chart_rank_change   or   "SELECT ..."')
