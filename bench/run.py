"""``make bench``: time the transform per tier against the DuckDB yardstick; write results.json and results.md.

Per tier (data from ``bench/generate.py``, cached):

1. full run, cold: a fresh ``spotify-etl transform --lake`` subprocess on a lake holding the tier's raw
   objects (JVM start included); peak RSS of its process tree; Spark's jobs/stages/tasks/spill from the
   event log;
2. incremental runs on that lake: +1 observation (a new day), +50 (49 on that day and a later observation
   of an existing day: a partition merge), and a re-run with nothing new;
3. the +1 observation alone on an empty lake (the yardstick of the incremental target);
4. the output layout of the lake after all runs (files per partition, sizes; I4);
5. the DuckDB yardstick on the same raw objects, in its own process (process start included), and a
   cross-check that it built the same rows as the transform;
6. full run, warm: in this process, the session already started and warmed up (no JVM start), with
   Spark's status tracker counting jobs, stages and tasks.

Raw objects are copied into the lake with fresh modification times (the bookmark tracks objects by
last-modified time, as Glue's does). Every figure carries the 1-minute load average at its start:
this machine has 2 cores shared with other work, so figures taken under load are noisy.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict
from datetime import UTC, datetime
from operator import attrgetter
from pathlib import Path
from typing import Any

import pyspark

from bench import guard
from bench.compare import compare_outputs
from bench.generate import DATA_DIR, TierData, generate_tier
from bench.measure import ProcessRun, event_log_env, layout, read_event_logs, run_measured
from bench.report import MB, markdown
from spotify_etl.lake import LakeLayout, local_path
from spotify_etl.sparkutil import glue_version
from spotify_etl.transform.registry import CURATED_TABLES

BENCH_DIR = Path(__file__).resolve().parent
# One results pair per Glue version (make bench GLUE_VERSION=6.0 keeps the 5.0 figures).
_RESULTS_SUFFIX = "" if glue_version() == "5.0" else "-glue6"
RESULTS_JSON = BENCH_DIR / f"results{_RESULTS_SUFFIX}.json"
RESULTS_MD = BENCH_DIR / f"results{_RESULTS_SUFFIX}.md"


def _copy_raw(source: Path, lake: Path) -> None:
    """Copy raw objects into ``lake/raw`` with fresh modification times (copyfile, not copy2)."""
    shutil.copytree(
        source, local_path(LakeLayout.from_lake(lake).raw), dirs_exist_ok=True, copy_function=shutil.copyfile
    )


def _transform_argv(lake: Path) -> list[str]:
    return [sys.executable, "-m", "spotify_etl.cli", "transform", "--lake", str(lake)]


def _spark_run(lake: Path, logs: Path, label: str) -> dict[str, Any]:
    """One transform subprocess on ``lake``; wall, peak RSS, Spark counts, the summary it printed."""
    log_dir = logs / label
    if log_dir.exists():
        shutil.rmtree(log_dir)
    run = run_measured(_transform_argv(lake), env=event_log_env(log_dir))
    if run.returncode != 0:
        raise RuntimeError(f"transform ({label}) exited {run.returncode}:\n{run.stderr[-4000:]}")
    counts = read_event_logs(log_dir)
    return {
        "wall_seconds": round(run.wall_seconds, 2),
        "cpu_seconds": round(run.cpu_seconds, 1),
        "peak_rss_mb": round(run.peak_rss_bytes / MB),
        "spark": counts.as_dict(),
        "summary": run.stdout.strip().splitlines()[-12:],
        "load_1m": round(run.load_before[0], 2),
    }


# Starts measured for the JVM start figure: one start varies by a second at a load of 3 (the guard's "+1 obs / JVM
# start" divides by it), the median of three does not carry one slow start.
JVM_STARTS = 3


def _jvm_start() -> dict[str, Any]:
    """The cost of starting Python + pyspark + the JVM and a local session, doing nothing: the median of
    ``JVM_STARTS`` fresh processes (``starts``: every one's wall seconds)."""
    code = "from spotify_etl.sparkutil import local_spark_session as s; s().stop()"
    runs = sorted(
        (run_measured([sys.executable, "-c", code]) for _ in range(JVM_STARTS)),
        key=attrgetter("wall_seconds"),
    )
    median = runs[len(runs) // 2]
    return {
        "wall_seconds": round(median.wall_seconds, 2),
        "cpu_seconds": round(median.cpu_seconds, 1),
        "load_1m": round(median.load_before[0], 2),
        "starts": [round(run.wall_seconds, 2) for run in runs],
    }


def _duckdb_run(data: TierData, out: Path) -> tuple[dict[str, Any], ProcessRun]:
    if out.exists():
        shutil.rmtree(out)
    argv = [
        sys.executable,
        str(BENCH_DIR / "duckdb_baseline.py"),
        "--raw",
        str(data.base.raw),
        "--out",
        str(out),
    ]
    run = run_measured(argv)
    if run.returncode != 0:
        raise RuntimeError(f"DuckDB baseline exited {run.returncode}:\n{run.stderr[-4000:]}")
    return {
        "wall_seconds": round(run.wall_seconds, 2),
        "cpu_seconds": round(run.cpu_seconds, 1),
        "peak_rss_mb": round(run.peak_rss_bytes / MB),
        "summary": json.loads(run.stdout.strip().splitlines()[-1]),
        "load_1m": round(run.load_before[0], 2),
    }, run


def _warm_full(data: TierData, work: Path) -> dict[str, Any]:
    """The full run in this process with a warm session: no JVM start; Spark's status tracker counts."""
    from spotify_etl.config import DEFAULT_JOB_NAME, TransformConfig
    from spotify_etl.runtime.local.transform import run_local_transform
    from spotify_etl.sparkutil import local_spark_session

    def config(lake: Path) -> TransformConfig:
        lay = LakeLayout.from_lake(lake)
        return TransformConfig(
            job_name=DEFAULT_JOB_NAME,
            raw_path=lay.raw,
            curated_path=lay.curated,
            quarantine_path=lay.quarantine,
            staging_path=lay.staging,
        )

    spark = local_spark_session()
    warmup = work / "warmup-lake"
    shutil.rmtree(warmup, ignore_errors=True)
    _copy_raw(data.inc50.raw, warmup)
    run_local_transform(config(warmup), spark)  # JIT, class loading, Python workers
    lake = work / "warm-lake"
    shutil.rmtree(lake, ignore_errors=True)
    _copy_raw(data.base.raw, lake)
    tracker = spark.sparkContext.statusTracker()
    group = f"bench-warm-{data.tier}"
    spark.sparkContext.setJobGroup(group, "bench warm full run")
    load = os.getloadavg()[0]
    started = time.perf_counter()
    summary = run_local_transform(config(lake), spark)
    wall = time.perf_counter() - started
    job_ids = tracker.getJobIdsForGroup(group)
    stage_ids = {sid for jid in job_ids if (job := tracker.getJobInfo(jid)) for sid in job.stageIds}
    stages = [info for sid in stage_ids if (info := tracker.getStageInfo(sid)) is not None]
    ran = [s for s in stages if s.numCompletedTasks > 0]
    spark.sparkContext.setJobGroup("", "")
    shutil.rmtree(warmup, ignore_errors=True)
    return {
        "wall_seconds": round(wall, 2),
        "summary_seconds": round(summary.seconds, 2),
        "spark": {
            "jobs": len(job_ids),
            "stages": len(ran),
            "stages_skipped": len(stage_ids) - len(ran),
            "tasks": sum(s.numCompletedTasks for s in ran),
        },
        "load_1m": round(load, 2),
    }


def run_tier(tier: str, seed: int, warm: bool, work_root: Path, full_only: bool = False) -> dict[str, Any]:
    """Every measurement of one tier (``full_only``: the cold full run, its layout and the yardstick)."""
    print(f"[{tier}] generating (cached per tier and seed) ...", flush=True)
    data = generate_tier(tier, seed)
    work = work_root / tier
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    logs = work / "eventlogs"
    result: dict[str, Any] = {"tier": tier, "seed": seed, "data": _data_figures(data)}
    result["jvm_start"] = _jvm_start()

    print(f"[{tier}] full run (cold, fresh process) ...", flush=True)
    lake = work / "lake"
    result["full_cold"] = _full_cold(data, lake, logs)
    wall = result["full_cold"]["wall_seconds"]
    if full_only:
        result["layout"] = [asdict(t) for t in layout(_curated(lake), CURATED_TABLES)]
        print(f"[{tier}] DuckDB yardstick ...", flush=True)
        result["duckdb"], _ = _duckdb_run(data, work / "duckdb")
        result["spark_over_duckdb"] = round(wall / result["duckdb"]["wall_seconds"], 2)
        result["crosscheck"] = compare_outputs(_curated(lake), work / "duckdb")
        return result

    print(f"[{tier}] incremental runs ...", flush=True)
    result["incremental"] = _incremental(data, lake, work, logs, result["jvm_start"]["wall_seconds"])
    tables = layout(_curated(lake), CURATED_TABLES)
    result["layout"] = [asdict(t) for t in tables]
    result["layout_ok"] = all(not t.flagged_partitions for t in tables)

    print(f"[{tier}] DuckDB yardstick ...", flush=True)
    duck, _ = _duckdb_run(data, work / "duckdb")
    result["duckdb"] = duck
    result["spark_over_duckdb"] = round(wall / duck["wall_seconds"], 2)
    result["crosscheck"] = None

    if warm:
        print(f"[{tier}] full run (warm, in-process) ...", flush=True)
        result["full_warm"] = _warm_full(data, work)
        w = result["full_warm"]["wall_seconds"]
        result["full_warm"]["items_per_second"] = round(data.base.items / w)
        # The warm lake holds exactly the base objects, as the DuckDB script saw them: same rows expected.
        result["crosscheck"] = compare_outputs(_curated(work / "warm-lake"), work / "duckdb")
    return result


def _curated(lake: Path) -> Path:
    return local_path(LakeLayout.from_lake(lake).curated)


def _data_figures(data: TierData) -> dict[str, Any]:
    """What the tier's generated raw data is: observations, items, sizes, generation time."""
    return {
        "observations": data.base.objects,
        "items": data.base.items,
        "raw_mb_gz": round(data.base.bytes_gz / MB, 1),
        "raw_mb_json": round(data.base.bytes_json / MB, 1),
        "generation_seconds": round(data.generation_seconds, 1),
        "world": data.world,
    }


def _full_cold(data: TierData, lake: Path, logs: Path) -> dict[str, Any]:
    """The full transform of the base objects in a fresh process, with its throughput."""
    _copy_raw(data.base.raw, lake)
    full = _spark_run(lake, logs, "full")
    wall = full["wall_seconds"]
    full["items_per_second"] = round(data.base.items / wall)
    full["raw_mb_per_second_gz"] = round(data.base.bytes_gz / MB / wall, 2)
    full["raw_mb_per_second_json"] = round(data.base.bytes_json / MB / wall, 2)
    return full


def _incremental(
    data: TierData, lake: Path, work: Path, logs: Path, jvm_start_seconds: float
) -> dict[str, Any]:
    """+1 on the full lake and alone on an empty one, +50, and a run with nothing new."""
    _copy_raw(data.inc1.raw, lake)
    inc1 = _spark_run(lake, logs, "inc1")
    _copy_raw(data.inc50.raw, lake)
    inc50 = _spark_run(lake, logs, "inc50")
    nothing = _spark_run(lake, logs, "nothing_new")
    alone_lake = work / "alone-lake"
    _copy_raw(data.inc1.raw, alone_lake)
    alone = _spark_run(alone_lake, logs, "inc1_alone")
    return {
        "plus_1": inc1,
        "plus_1_alone_on_empty_lake": alone,
        "plus_1_ratio": round(inc1["wall_seconds"] / alone["wall_seconds"], 2),
        "plus_50": inc50,
        "nothing_new": nothing,
        "nothing_new_minus_jvm_start": round(nothing["wall_seconds"] - jvm_start_seconds, 2),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Benchmark the transform per tier (make bench).")
    parser.add_argument("--tier", default="S", help="comma-separated tiers: S, M, L (default S)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--no-warm", action="store_true", help="skip the in-process warm run")
    parser.add_argument(
        "--full-only", action="store_true", help="only the cold full run and the yardstick (for the L tier)"
    )
    parser.add_argument("--work", type=Path, default=DATA_DIR / "work", help="scratch lakes")
    parser.add_argument("--baseline", type=Path, default=guard.BASELINE_JSON, help="the committed figures")
    parser.add_argument(
        "--update-baseline", action="store_true", help="record this run's tiers as the new baseline"
    )
    args = parser.parse_args(argv)
    tiers = [t.strip().upper() for t in args.tier.split(",") if t.strip()]
    unknown = [t for t in tiers if t not in ("S", "M", "L")]
    if unknown:
        parser.error(f"unknown tier(s) {', '.join(unknown)}; choose from S, M, L")
    previous = json.loads(RESULTS_JSON.read_text()) if RESULTS_JSON.exists() else {"tiers": {}}
    results: dict[str, Any] = {
        "measured_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, python {platform.python_version()}",
        "glue_version": glue_version(),
        "spark": pyspark.__version__,
        "tiers": dict(previous.get("tiers", {})),
    }
    for tier in tiers:
        results["tiers"][tier] = run_tier(tier, args.seed, not args.no_warm, args.work, args.full_only)
        results["tiers"][tier]["measured_at"] = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        RESULTS_JSON.write_text(json.dumps(results, indent=2, sort_keys=True))
    return _report(results, tiers, args.baseline, args.update_baseline)


def _report(results: dict[str, Any], tiers: list[str], baseline_path: Path, update: bool) -> int:
    """Print and write the tables and the comparison with the baseline; 1 on a regression (guard.py)."""
    baseline = guard.load_baseline(baseline_path, results["glue_version"])
    measured = {tier: results["tiers"][tier] for tier in tiers}
    verdicts = guard.compare(
        {tier: entry["figures"] for tier, entry in baseline.items()},
        {tier: guard.figures_of(result) for tier, result in measured.items()},
    )
    table = markdown(results) + guard.markdown(verdicts, baseline)
    RESULTS_MD.write_text(table)
    print(table)
    if update:
        guard.update_baseline(baseline_path, results["glue_version"], measured)
        print(f"baseline updated: {baseline_path} ({', '.join(tiers)})")
        return 0
    failed = guard.regressions(verdicts)
    for v in failed:
        print(
            f"REGRESSION at {v.tier}: {v.figure} {v.baseline:g} -> {v.current:g} ({v.change:+.0%})",
            file=sys.stderr,
        )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
