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
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from typing import Any

from spotify_etl.aws_twin import athena
from spotify_etl.aws_twin.crawler import CrawlResult, crawl_lake
from spotify_etl.aws_twin.workflow import (
    DEFAULT_TEMPLATE,
    GlueCrawler,
    GlueJob,
    WorkflowGraph,
    WorkflowRun,
    bookmark_option,
    load_workflow,
    local_implementations,
    run_workflow,
)
from spotify_etl.lake import LakeLayout, local_path
from spotify_etl.runtime.local.lock import writer_lock
from spotify_etl.transform.plausibility import EARLIEST_EXTRACTED_AT

DEFAULT_NEW_LAKE_DAYS = 7
DEFAULT_NEXT_DAYS = 1
EXTRACT_HOUR_UTC = 3


@dataclass(frozen=True)
class _Printed:
    """How one query's result is printed at the end of a run: which columns, which rows, how many."""

    query: str
    columns: tuple[str, ...]
    max_rows: int
    keep: Callable[[dict[str, Any], dict[str, Any]], bool] = lambda _row, _ctx: True


# The analysis printed at the end of a run; every query is also in the report and `spotify-etl query --name`.
PRINTED: tuple[_Printed, ...] = (
    _Printed(
        "daily_chart_rank_change",
        ("playlist_name", "snapshot_date", "chart_rank", "track_name", "previous_rank", "movement"),
        20,
        lambda row, _ctx: int(row["chart_rank"]) <= 3,
    ),
    _Printed(
        "new_entries_per_day",
        ("snapshot_date", "playlist_name", "new_entries", "dropouts"),
        20,
        lambda row, ctx: row["snapshot_date"] == ctx["latest"],
    ),
    _Printed(
        "longest_running_tracks",
        ("playlist_name", "track_name", "days_on_chart", "best_rank", "first_seen_date", "still_on_chart"),
        6,
    ),
    _Printed(
        "artist_chart_presence", ("artist_name", "chart_entries", "tracks", "playlists", "entry_share"), 5
    ),
    _Printed("genre_share", ("genre", "chart_entries", "share"), 5),
    _Printed(
        "explicit_share_over_time",
        ("snapshot_date", "playlist_name", "chart_tracks", "explicit_tracks", "explicit_share"),
        20,
        lambda row, ctx: row["snapshot_date"] == ctx["latest"],
    ),
)

Say = Callable[[str], None]


class PipelineError(RuntimeError):
    """A step failed; the message says which and what was kept."""


class PipelineConfigError(PipelineError, ValueError):
    """The run is misconfigured (nothing was done); the message says what to set."""


@dataclass(frozen=True)
class PipelineOptions:
    """What one ``spotify-etl run`` does.

    Attributes:
        lake: the lake folder.
        days: simulated days to run; None: 7 on a new lake, 1 (the next day) on an existing one.
        template: the CloudFormation template whose Glue workflow is run.
        seed: the simulator world's seed (only for a new lake; an existing lake keeps its own).
        start: the first simulated day of a new lake.
        report: write the report at the end.
        print_analysis: print a few analysis queries at the end.
        wait: when another writer holds the lake's lock, wait for it instead of refusing.
        world: the simulator's world of a new lake (``chart`` or ``wild``: spotify_etl/simulator/wild.py);
            an existing lake keeps its own.
    """

    lake: Path
    days: int | None = None
    template: Path = DEFAULT_TEMPLATE
    seed: int = 7
    start: date = date(2026, 11, 1)
    report: bool = True
    print_analysis: bool = True
    wait: bool = False
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
class RealApiSettings:
    """Credentials and playlists for one run against the real Spotify Web API (never printed)."""

    client_id: str
    client_secret: str = field(repr=False)
    refresh_token: str | None = field(default=None, repr=False)
    playlists: tuple[str, ...] = ()
    market: str = "US"
    api_base_url: str | None = (
        None  # SPOTIFY_API_BASE_URL / SPOTIFY_TOKEN_URL, as `spotify-etl extract` reads them
    )
    token_url: str | None = None


def real_api_settings(env: Mapping[str, str]) -> RealApiSettings | None:
    """The real-API settings when the environment asks for them; None for the offline default.

    Raises:
        PipelineError: when the environment is half set (credentials without playlists, or the reverse).
    """
    client_id, secret = env.get("SPOTIFY_CLIENT_ID", ""), env.get("SPOTIFY_CLIENT_SECRET", "")
    playlists = tuple(p.strip() for p in env.get("PLAYLISTS", "").split(",") if p.strip())
    if not (client_id or secret or playlists):
        return None
    missing = [
        name
        for name, value in (
            ("SPOTIFY_CLIENT_ID", client_id),
            ("SPOTIFY_CLIENT_SECRET", secret),
            ("PLAYLISTS", playlists),
        )
        if not value
    ]
    if missing:
        raise PipelineConfigError(
            f"real-API mode needs SPOTIFY_CLIENT_ID, SPOTIFY_CLIENT_SECRET and PLAYLISTS=id,id; missing "
            f"{', '.join(missing)} (unset them all, or pass --offline, to run on the simulator)"
        )
    return RealApiSettings(
        client_id,
        secret,
        env.get("SPOTIFY_REFRESH_TOKEN") or None,
        playlists,
        env.get("SPOTIFY_MARKET", "US") or "US",
        env.get("SPOTIFY_API_BASE_URL") or None,
        env.get("SPOTIFY_TOKEN_URL") or None,
    )


# ---------------------------------------------------------------- simulated clock


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


def load_state(lake: Path) -> SimulatorState | None:
    path = LakeLayout.from_lake(lake).simulator_state
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


def save_state(lake: Path, state: SimulatorState) -> None:
    """Atomic write (temp file + rename): a crash never leaves half a state file."""
    path = LakeLayout.from_lake(lake).simulator_state
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(state.to_json(), encoding="utf-8")
    os.replace(tmp, path)


# ---------------------------------------------------------------- the run


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
    lake: Path
    mode: str
    days: list[DayResult] = field(default_factory=list)
    last_crawl: CrawlResult | None = None
    queries: dict[str, athena.QueryResult] = field(default_factory=dict)
    report_index: Path | None = None
    seconds: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def catalog(self) -> Path:
        return LakeLayout.from_lake(self.lake).catalog_file


class _SparkHolder:
    """One SparkSession for every simulated day, started on first use (the JVM starts once).

    A session handed in by the caller is used and left running; one started here is stopped at the end.
    """

    def __init__(self, session: Any = None) -> None:
        self.session: Any = session
        self.owned = session is None

    def get(self) -> Any:
        if self.session is None:
            from spotify_etl.sparkutil import local_spark_session

            os.environ.setdefault(
                "SPARK_LOCAL_IP", "127.0.0.1"
            )  # local only; also silences Spark's hostname warning
            self.session = local_spark_session(app_name="spotify-etl-run", shuffle_partitions=2)
            self.session.sparkContext.setLogLevel("ERROR")
        return self.session

    def stop(self) -> None:
        if self.session is not None and self.owned:
            self.session.stop()
            self.session = None


def _workflow_day(
    graph: WorkflowGraph, lake: Path, spark: _SparkHolder, say: Say, moment: datetime
) -> tuple[WorkflowRun, Any, CrawlResult | None]:
    from spotify_etl.runtime.local.transform import config_for_lake, run_local_transform

    outputs: dict[str, Any] = {}

    def transform(job: GlueJob) -> Any:
        config, bookmarks = config_for_lake(lake, bookmark_option=bookmark_option(job))
        # The run's clock: the simulated day's when the simulation runs ahead of the real clock, so that
        # its observations are plausible (transform/plausibility.py); the real clock otherwise.
        summary = run_local_transform(
            config, spark.get(), bookmarks_root=bookmarks, now=lambda: max(datetime.now(UTC), moment)
        )
        outputs["transform"] = summary
        for line in summary.format().splitlines():
            say(f"      {line}")
        return summary

    def crawler(glue_crawler: GlueCrawler) -> Any:
        result = crawl_lake(lake, glue_crawler.spec)
        outputs["crawl"] = result
        for line in result.format().splitlines():
            say(f"      {line}")
        return result

    impl = local_implementations(graph, run_transform=transform, run_crawler=crawler)
    run = run_workflow(graph, impl, progress=lambda line: say(f"    {line}"))
    return run, outputs.get("transform"), outputs.get("crawl")


def _extract(settings: Any, lake: Path, moment: datetime, say: Say) -> Any:
    from extract_lambda.extractor import extract_playlists
    from extract_lambda.landing import LocalLander
    from extract_lambda.state import LocalStateStore
    from spotify_etl.commands.extract import state_dir

    report = extract_playlists(
        settings,
        LocalLander(local_path(LakeLayout.from_lake(lake).raw)),
        now=lambda: moment,
        deadline=time.monotonic() + 300,
        state=LocalStateStore(state_dir(lake)),
    )
    for line in report.summary().splitlines():
        say(f"      {line}")
    return report


def _run_day(
    label: str,
    graph: WorkflowGraph,
    lake: Path,
    spark: _SparkHolder,
    settings: Any,
    moment: datetime,
    say: Say,
) -> tuple[DayResult, CrawlResult | None]:
    say(f"  extract: {len(settings.playlist_ids)} playlists at {moment:%Y-%m-%dT%H:%M:%SZ}")
    t0 = time.monotonic()
    report = _extract(settings, lake, moment, say)
    t1 = time.monotonic()
    if not report.landed:
        raise PipelineError(
            f"{label}: the extract landed nothing ({report.summary()}); the workflow was not run"
        )
    say(f"  workflow {graph.workflow_id} (from the template):")
    run, summary, crawl = _workflow_day(graph, lake, spark, say, moment)
    t2 = time.monotonic()
    if run.state != "COMPLETED":
        failed = next(s for s in run.steps if s.state != "SUCCEEDED")
        first_line = (failed.error or "").splitlines()[0] if failed.error else ""
        raise PipelineError(
            f"{label}: {failed.kind} {failed.node} {failed.state}: {first_line}. The raw objects landed are kept; "
            "the bookmark did not advance past unprocessed objects; re-run to retry."
        )
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
    lake = options.lake.resolve()
    # One writer per lake for the whole run (extract, transform, crawl, report): see runtime/local/lock.py.
    with writer_lock(lake, wait=options.wait, on_wait=say):
        return _run_pipeline_locked(options, env, say, spark)


def _run_pipeline_locked(
    options: PipelineOptions, env: Mapping[str, str], say: Say, spark: Any
) -> PipelineResult:
    started = time.monotonic()
    lake = options.lake.resolve()
    real = real_api_settings(env)
    result = PipelineResult(lake, "real Spotify Web API" if real else "offline simulator")
    graph = load_workflow(options.template)
    say(f"lake {lake}; workflow from {options.template}:")
    for line in graph.describe().splitlines():
        say(f"  {line}")
    holder = _SparkHolder(spark)
    try:
        if real is not None:
            _run_real(real, graph, lake, holder, result, say)
        else:
            _run_simulated(options, graph, lake, holder, result, say)
        t0 = time.monotonic()
        if options.report or options.print_analysis:
            result.queries = athena.run_named_queries(result.catalog)
            result.timings["queries"] = time.monotonic() - t0
            say(
                f"analysis: ran {len(result.queries)} Athena queries on {result.catalog} in {result.timings['queries']:.1f}s"
            )
        if options.print_analysis:
            _print_analysis(result, say)
        if options.report:
            from spotify_etl.devtools.report import ReportError, publish_report

            t0 = time.monotonic()
            days = [d.day for d in result.days]
            subtitle = f"{result.mode}; this run: {', '.join(days)}." if days else f"{result.mode}."
            try:
                report = publish_report(
                    result.catalog,
                    LakeLayout.from_lake(lake).report_dir,
                    subtitle=subtitle,
                    results=result.queries,
                )
            except ReportError as error:
                raise PipelineError(str(error)) from error
            result.report_index = report.index
            result.timings["report"] = time.monotonic() - t0
            say(f"report: {len(report.charts)} charts -> {report.index}")
    finally:
        holder.stop()
    result.seconds = time.monotonic() - started
    _print_summary(result, say)
    return result


def _run_simulated(
    options: PipelineOptions,
    graph: WorkflowGraph,
    lake: Path,
    spark: _SparkHolder,
    result: PipelineResult,
    say: Say,
) -> None:
    from extract_lambda.extractor import ExtractSettings
    from spotify_etl.simulator.server import SimulatorServer
    from spotify_etl.simulator.wild import make_world

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
    world = make_world(state.world, seed=state.seed, start=state.start)
    with SimulatorServer(world) as server:
        say(
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
            day = state.next_day
            server.set_day(day)
            moment = datetime.combine(day, dtime(EXTRACT_HOUR_UTC, 0), tzinfo=UTC)
            say(f"day {i + 1}/{n_days}: {day}")
            day_result, crawl = _run_day(str(day), graph, lake, spark, settings, moment, say)
            result.days.append(day_result)
            result.last_crawl = crawl or result.last_crawl
            state = SimulatorState(
                state.seed, state.start, day + timedelta(days=1), (*state.days_done, str(day)), state.world
            )
            save_state(lake, state)


def _run_real(
    real: RealApiSettings,
    graph: WorkflowGraph,
    lake: Path,
    spark: _SparkHolder,
    result: PipelineResult,
    say: Say,
) -> None:
    from extract_lambda.extractor import ExtractSettings

    endpoints = {"api_base_url": real.api_base_url, "token_url": real.token_url}
    settings = ExtractSettings(
        playlist_ids=real.playlists,
        client_id=real.client_id,
        client_secret=real.client_secret,
        refresh_token=real.refresh_token,
        market=real.market,
        **{k: v for k, v in endpoints.items() if v},  # type: ignore[arg-type]
    )
    moment = datetime.now(UTC).replace(microsecond=0)
    say(f"real Spotify Web API ({settings.auth_flow}): {len(real.playlists)} playlists")
    day_result, crawl = _run_day(f"{moment:%Y-%m-%d}", graph, lake, spark, settings, moment, say)
    result.days.append(day_result)
    result.last_crawl = crawl


def _print_analysis(result: PipelineResult, say: Say) -> None:
    questions = {name: q.question for name, q in athena.load_queries().items()}
    dates = [
        str(r["snapshot_date"]) for q in result.queries.values() for r in q.as_dicts() if "snapshot_date" in r
    ]
    ctx: dict[str, Any] = {"latest": max(dates, default=None)}
    for spec in PRINTED:
        if spec.query not in result.queries:
            continue
        full = result.queries[spec.query]
        kept = [r for r in full.as_dicts() if spec.keep(r, ctx)]
        shown = athena.QueryResult(
            spec.query, spec.columns, tuple(tuple(r[c] for c in spec.columns) for r in kept[: spec.max_rows])
        )
        say("")
        say(f"== {spec.query}: {questions.get(spec.query, '')}")
        say(athena.format_result(shown, "table"))
        if len(kept) < len(full.rows) or len(kept) > spec.max_rows:
            say(
                f"(selected from {len(full.rows)} rows: spotify-etl query --lake {result.lake} --name {spec.query})"
            )


def _print_summary(result: PipelineResult, say: Say) -> None:
    say("")
    say("== summary")
    say(f"mode: {result.mode}")
    for d in result.days:
        say(
            f"  {d.day}: landed {d.objects_landed} objects"
            + (f" ({d.playlists_failed} playlists failed)" if d.playlists_failed else "")
            + f", transform processed {d.objects_processed} objects ({d.objects_rejected} quarantined) "
            f"-> {d.rows_written} rows in {d.files_written} files; "
            f"extract {d.seconds_extract:.1f}s, workflow {d.seconds_workflow:.1f}s"
        )
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
