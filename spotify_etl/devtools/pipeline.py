"""``make run``: the whole pipeline on the embedded default stack, day by simulated day.

Offline (the default, no credentials): the Spotify API simulator serves its chart world on
127.0.0.1; for each simulated day the extract Lambda's code fetches every playlist at 03:00 UTC of
that day (so each day lands in its own ``ingest_date`` and ``snapshot_date``), then the Glue workflow
of the CloudFormation template runs locally (the start trigger fires the transform job, whose
bookmark makes it process only that day's new objects; when it SUCCEEDED the conditional trigger
fires the crawler). After the last day the Athena queries run on the catalog, the analysis is
printed, and the report is written.

The simulated clock lives in the lake (``_simulator/state.json``: seed, first day, next day), so
re-running continues with the next days. A day is recorded as done only after its workflow run
completed; re-running after a failure repeats that day, which is harmless: the extract lands the
same keys (existing objects are kept, never rewritten) and the bookmark skips what was processed.

Real API: with ``SPOTIFY_CLIENT_ID``/``SPOTIFY_CLIENT_SECRET`` (and optionally
``SPOTIFY_REFRESH_TOKEN``) and ``PLAYLISTS=id,id`` set, one run against api.spotify.com instead.

This module sequences the steps; each step is its own module: the simulated clock (:mod:`.clock`), the
real-API settings (:mod:`.real_api`), the extract (:mod:`.extract_step`), the workflow
(:mod:`.workflow_step`), the printed analysis (:mod:`.analysis`), the summary (:mod:`.summary`) and the
report (:mod:`.report`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from extract_lambda.extractor import ExtractSettings
from spotify_etl.aws_twin import athena
from spotify_etl.aws_twin.crawler import CrawlResult
from spotify_etl.aws_twin.workflow import DEFAULT_TEMPLATE, WorkflowGraph, WorkflowRun, load_workflow
from spotify_etl.devtools.analysis import print_analysis
from spotify_etl.devtools.clock import (
    DEFAULT_NEW_LAKE_DAYS,
    DEFAULT_NEXT_DAYS,
    SimulatorState,
    extract_moment,
    load_state,
    save_state,
)
from spotify_etl.devtools.errors import PipelineError
from spotify_etl.devtools.extract_step import extract_day
from spotify_etl.devtools.quality_step import judge_and_record
from spotify_etl.devtools.real_api import RealApiSettings, real_api_settings
from spotify_etl.devtools.summary import DayResult, PipelineResult, print_summary
from spotify_etl.devtools.workflow_step import SparkHolder, run_workflow_day
from spotify_etl.lake import LakeLayout
from spotify_etl.runtime.local.lock import writer_lock
from spotify_etl.transform.plausibility import EARLIEST_EXTRACTED_AT

Say = Callable[[str], None]


@dataclass(frozen=True)
class PipelineOptions:
    """What one ``spotify-etl run`` does.

    Attributes:
        lake: the lake (its layout, as ``--lake`` parses it, or its folder).
        days: simulated days to run; None: 7 on a new lake, 1 (the next day) on an existing one.
        template: the CloudFormation template whose Glue workflow is run.
        seed: the simulator world's seed (only for a new lake; an existing lake keeps its own).
        start: the first simulated day of a new lake.
        report: write the report at the end.
        print_analysis: print a few analysis queries at the end.
        wait: when another writer holds the lake's lock, wait for it at most this many seconds (None:
            refuse at once).
        world: the simulator's world of a new lake (``chart`` or ``wild``: spotify_etl/simulator/wild.py);
            an existing lake keeps its own.
    """

    lake: LakeLayout | Path
    days: int | None = None
    template: Path = DEFAULT_TEMPLATE
    seed: int = 7
    start: date = date(2026, 11, 1)
    report: bool = True
    print_analysis: bool = True
    wait: float | None = None
    world: str = "chart"

    def __post_init__(self) -> None:
        if self.days is not None and self.days < 1:
            raise ValueError(f"days must be at least 1, got {self.days}")
        if self.start < EARLIEST_EXTRACTED_AT.date():
            raise ValueError(
                f"start {self.start} is before Spotify existed ({EARLIEST_EXTRACTED_AT:%Y-%m-%d}); the transform "
                "would quarantine every observation as implausible_extracted_at"
            )


@dataclass(frozen=True)
class _Day:
    """What one day's steps share: the workflow, the lake, the SparkSession, where progress goes."""

    graph: WorkflowGraph
    lake: LakeLayout
    spark: SparkHolder
    say: Say


def _run_day(
    label: str, day: _Day, settings: ExtractSettings, moment: datetime
) -> tuple[DayResult, CrawlResult | None]:
    """Extract, then run the workflow; raises PipelineError when either step failed."""
    say = day.say
    say(f"  extract: {len(settings.playlist_ids)} playlists at {moment:%Y-%m-%dT%H:%M:%SZ}")
    t0 = time.monotonic()
    report = extract_day(settings, day.lake, moment, say)
    t1 = time.monotonic()
    if not report.landed:
        raise PipelineError(
            f"{label}: the extract landed nothing ({report.summary()}); the workflow was not run"
        )
    say(f"  workflow {day.graph.workflow_id} (from the template):")
    run, summary, crawl = run_workflow_day(day.graph, day.lake, day.spark, say, moment)
    t2 = time.monotonic()
    _raise_unless_completed(label, run)
    result = DayResult(
        label,
        objects_landed=sum(1 for p in report.landed if p.created),
        playlists_failed=len(report.failed),
        objects_processed=summary.objects_read if summary else 0,
        objects_rejected=sum(summary.rejected.values()) if summary else 0,
        rows_written=sum(summary.rows_written.values()) if summary else 0,
        files_written=sum(summary.files_written.values()) if summary else 0,
        seconds_extract=t1 - t0,
        seconds_workflow=t2 - t1,
    )
    return result, crawl


def _raise_unless_completed(label: str, run: WorkflowRun) -> None:
    if run.state == "COMPLETED":
        return
    failed = next(s for s in run.steps if s.state != "SUCCEEDED")
    first_line = (failed.error or "").splitlines()[0] if failed.error else ""
    raise PipelineError(
        f"{label}: {failed.kind} {failed.node} {failed.state}: {first_line}. The raw objects landed are kept; "
        "the bookmark did not advance past unprocessed objects; re-run to retry."
    )


def run_pipeline(
    options: PipelineOptions, env: Mapping[str, str], say: Say = print, spark: Any = None
) -> PipelineResult:
    """Run the pipeline (see module doc); raises PipelineError naming the failed step.

    Args:
        options: what to run.
        env: the environment (real-API mode is chosen from it; pass ``{}`` to stay offline).
        say: where progress lines go.
        spark: an existing SparkSession to use (and leave running); default: one started and stopped here.
    """
    # The lake of the whole run, by its absolute path (as every message names it), passed down from here.
    lake = LakeLayout.from_lake(LakeLayout.of(options.lake).local_root.resolve())
    # One writer per lake for the whole run (extract, transform, crawl, report): see runtime/local/lock.py.
    with writer_lock(lake, wait=options.wait, on_wait=say):
        return _run_pipeline_locked(options, lake, env, say, spark)


def _run_pipeline_locked(
    options: PipelineOptions, lake: LakeLayout, env: Mapping[str, str], say: Say, spark: Any
) -> PipelineResult:
    started = time.monotonic()
    real = real_api_settings(env)
    result = PipelineResult(lake, "real Spotify Web API" if real else "offline simulator")
    graph = load_workflow(options.template)
    say(f"lake {lake.local_root}; workflow from {options.template}:")
    for line in graph.describe().splitlines():
        say(f"  {line}")
    holder = SparkHolder(spark)
    try:
        day = _Day(graph, lake, holder, say)
        if real is not None:
            _run_real(real, day, result)
        else:
            _run_simulated(options, day, result)
        _judge_quality(result, say)
        _analyse(options, result, say)
    finally:
        holder.stop()
    result.seconds = time.monotonic() - started
    print_summary(result, say)
    return result


def _judge_quality(result: PipelineResult, say: Say) -> None:
    """The rules of quality/ on the lake, recorded and crawled (devtools/quality_step.py)."""
    if not result.days:
        return
    t0 = time.monotonic()
    clock = extract_moment(date.fromisoformat(result.days[-1].day))
    judge_and_record(result.layout, clock, say)  # last_crawl stays the workflow's crawl
    result.timings["quality"] = time.monotonic() - t0


def _analyse(options: PipelineOptions, result: PipelineResult, say: Say) -> None:
    """After the last day: the Athena queries, the printed analysis and the report, as the options say."""
    if options.report or options.print_analysis:
        t0 = time.monotonic()
        result.queries = athena.run_named_queries(result.catalog)
        result.timings["queries"] = time.monotonic() - t0
        say(
            f"analysis: ran {len(result.queries)} Athena queries on {result.catalog} in {result.timings['queries']:.1f}s"
        )
    if options.print_analysis:
        print_analysis(result.queries, result.lake, say)
    if options.report:
        _write_report(result, say)


def _write_report(result: PipelineResult, say: Say) -> None:
    from spotify_etl.devtools.report import ReportError, publish_report

    t0 = time.monotonic()
    days = [d.day for d in result.days]
    subtitle = f"{result.mode}; this run: {', '.join(days)}." if days else f"{result.mode}."
    try:
        report = publish_report(
            result.catalog,
            result.layout.report_dir,
            subtitle=subtitle,
            results=result.queries,
        )
    except ReportError as error:
        raise PipelineError(str(error)) from error
    result.report_index = report.index
    result.timings["report"] = time.monotonic() - t0
    say(f"report: {len(report.charts)} charts -> {report.index}")


def _open_clock(options: PipelineOptions, lake: LakeLayout, say: Say) -> tuple[SimulatorState, int]:
    """The lake's simulated clock (a new one on a new lake) and how many days to run."""
    state = load_state(lake)
    if state is None:
        state = SimulatorState(options.seed, options.start, options.start, world=options.world)
        n_days = options.days or DEFAULT_NEW_LAKE_DAYS
        say(f"new lake: simulating {n_days} days from {state.start} (seed {state.seed}, {state.world} world)")
    else:
        n_days = options.days or DEFAULT_NEXT_DAYS
        say(
            f"continuing the lake: {len(state.days_done)} days done ({state.start}..{state.next_day - timedelta(days=1)}), "
            f"simulating {n_days} more from {state.next_day}"
        )
    return state, n_days


def _run_simulated(options: PipelineOptions, day: _Day, result: PipelineResult) -> None:
    from spotify_etl.simulator.server import SimulatorServer
    from spotify_etl.simulator.wild import make_world

    state, n_days = _open_clock(options, day.lake, day.say)
    world = make_world(state.world, seed=state.seed, start=state.start)
    with SimulatorServer(world) as server:
        day.say(
            f"Spotify API simulator on {server.base_url} ({len(world.playlist_ids)} playlists, {state.world} world)"
        )
        settings = ExtractSettings(
            playlist_ids=world.playlist_ids,
            client_id=server.client_id,
            client_secret=server.client_secret,
            api_base_url=server.api_base_url,
            token_url=server.token_url,
        )
        for i in range(n_days):
            today = state.next_day
            server.set_day(today)
            day.say(f"day {i + 1}/{n_days}: {today}")
            day_result, crawl = _run_day(str(today), day, settings, extract_moment(today))
            result.days.append(day_result)
            result.last_crawl = crawl or result.last_crawl
            state = state.after(today)
            save_state(day.lake, state)


def _run_real(real: RealApiSettings, day: _Day, result: PipelineResult) -> None:
    settings = real.extract_settings()
    moment = datetime.now(UTC).replace(microsecond=0)
    day.say(f"real Spotify Web API ({settings.auth_flow}): {len(real.playlists)} playlists")
    day_result, crawl = _run_day(f"{moment:%Y-%m-%d}", day, settings, moment)
    result.days.append(day_result)
    result.last_crawl = crawl
