"""Measuring tools for the harness: a process-tree memory sampler, Spark's event log, output layout.

Memory is psutil's resident set size summed over the process and all its children (the Python driver
and the JVM it starts), sampled every 50 ms. Spark's jobs, stages, tasks and spill come from Spark's
own event log (the ``EventLoggingListener``, switched on for the subprocess through
``PYSPARK_SUBMIT_ARGS``), not from counters of our own.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

SMALL_FILE_BYTES = 128 * 1024 * 1024


def tree_cpu(process: psutil.Process, seen: dict[int, float]) -> None:
    """Record in ``seen`` the CPU seconds (user + system) each process of the tree has used so far.

    A process's CPU time only grows, so the last sample of each pid is its total, less what it used in its
    last sampling interval: CPU time is what a loaded machine inflates least (wall time waits for the
    other work; CPU time is only this run's own work).
    """
    try:
        procs = [process, *process.children(recursive=True)]
    except psutil.Error:
        return
    for proc in procs:
        try:
            times = proc.cpu_times()
        except psutil.Error:
            continue
        seen[proc.pid] = max(seen.get(proc.pid, 0.0), times.user + times.system)


def tree_rss(process: psutil.Process) -> int:
    """Resident bytes of a process and all its descendants (0 for those that already exited)."""
    total = 0
    try:
        procs = [process, *process.children(recursive=True)]
    except psutil.Error:
        return 0
    for proc in procs:
        try:
            total += proc.memory_info().rss
        except psutil.Error:
            continue
    return total


@dataclass
class ProcessRun:
    """One timed subprocess."""

    argv: list[str]
    returncode: int
    wall_seconds: float
    peak_rss_bytes: int
    stdout: str
    stderr: str
    load_before: tuple[float, float, float]
    cpu_seconds: float = 0.0  # user + system of the process tree (tree_cpu)


def run_measured(
    argv: Sequence[str], env: dict[str, str] | None = None, interval: float = 0.05
) -> ProcessRun:
    """Run ``argv``; wall time by perf_counter, peak RSS and CPU time of its process tree by psutil sampling."""
    load = os.getloadavg()
    peak = 0
    cpu: dict[int, float] = {}
    done = threading.Event()
    started = time.perf_counter()
    proc = subprocess.Popen(
        list(argv),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
    )
    handle = psutil.Process(proc.pid)

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, tree_rss(handle))
            tree_cpu(handle, cpu)
            done.wait(interval)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    stdout, stderr = proc.communicate()
    wall = time.perf_counter() - started
    done.set()
    sampler.join()
    return ProcessRun(list(argv), proc.returncode, wall, peak, stdout, stderr, load, sum(cpu.values()))


@dataclass
class SparkCounts:
    """What Spark's own listener recorded for one application."""

    jobs: int = 0
    stages: int = 0
    stages_skipped: int = 0
    tasks: int = 0
    memory_bytes_spilled: int = 0
    disk_bytes_spilled: int = 0
    failed_tasks: int = 0
    input_bytes: int = 0
    shuffle_write_bytes: int = 0
    executor_run_seconds: float = 0.0
    executor_cpu_seconds: float = 0.0
    stage_tasks: list[int] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "jobs": self.jobs,
            "stages": self.stages,
            "stages_skipped": self.stages_skipped,
            "tasks": self.tasks,
            "failed_tasks": self.failed_tasks,
            "memory_bytes_spilled": self.memory_bytes_spilled,
            "disk_bytes_spilled": self.disk_bytes_spilled,
            "input_mb": round(self.input_bytes / 1e6, 1),
            "shuffle_write_mb": round(self.shuffle_write_bytes / 1e6, 1),
            "executor_run_seconds": round(self.executor_run_seconds, 1),
            "executor_cpu_seconds": round(self.executor_cpu_seconds, 1),
        }


def event_log_env(directory: Path) -> dict[str, str]:
    """Environment that makes a pyspark subprocess write Spark's event log into ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    return {
        "PYSPARK_SUBMIT_ARGS": (
            f"--conf spark.eventLog.enabled=true --conf spark.eventLog.dir={directory.resolve().as_uri()} "
            "--conf spark.eventLog.compress=false pyspark-shell"
        )
    }


def read_event_logs(directory: Path) -> SparkCounts:
    """Jobs, stages (run and skipped), tasks and spill from every event log in ``directory``."""
    counts = SparkCounts()
    submitted: set[int] = set()
    completed: set[int] = set()
    # Spark 4.0 rolls event logs by default: one folder per application (eventlog_v2_<app>/events_<n>_<app>, plus
    # an empty appstatus_ file) where Spark 3.5 writes one file; both are read
    # (https://spark.apache.org/docs/4.0.0-preview1/core-migration-guide.html, "Upgrading from Core 3.5 to 4.0").
    # Hadoop's local file system writes a hidden binary .<name>.crc beside each file: skipped.
    for path in sorted(directory.rglob("*")):
        if not path.is_file() or path.name.startswith("."):
            continue
        with path.open() as handle:
            for line in handle:
                event = json.loads(line)
                kind = event.get("Event")
                if kind == "SparkListenerJobStart":
                    counts.jobs += 1
                    submitted.update(event.get("Stage IDs", []))
                elif kind == "SparkListenerStageCompleted":
                    info = event["Stage Info"]
                    completed.add(info["Stage ID"])
                    counts.stage_tasks.append(info["Number of Tasks"])
                elif kind == "SparkListenerTaskEnd":
                    counts.tasks += 1
                    if event.get("Task End Reason", {}).get("Reason") not in (None, "Success"):
                        counts.failed_tasks += 1
                    metrics = event.get("Task Metrics") or {}
                    counts.memory_bytes_spilled += metrics.get("Memory Bytes Spilled", 0)
                    counts.disk_bytes_spilled += metrics.get("Disk Bytes Spilled", 0)
                    counts.input_bytes += (metrics.get("Input Metrics") or {}).get("Bytes Read", 0)
                    shuffle = metrics.get("Shuffle Write Metrics") or {}
                    counts.shuffle_write_bytes += shuffle.get("Shuffle Bytes Written", 0)
                    counts.executor_run_seconds += metrics.get("Executor Run Time", 0) / 1000
                    counts.executor_cpu_seconds += metrics.get("Executor CPU Time", 0) / 1e9
    counts.stages = len(completed)
    counts.stages_skipped = len(submitted - completed)
    return counts


@dataclass
class TableLayout:
    """Files per partition of one curated table."""

    table: str
    partitions: int
    files: int
    max_files_per_partition: int
    flagged_partitions: list[str]
    file_bytes_min: int
    file_bytes_median: int
    file_bytes_max: int
    total_bytes: int


def layout(curated: Path, tables: Sequence[str]) -> list[TableLayout]:
    """Files per partition and their sizes; flag partitions of several files that total under 128 MB."""
    result = []
    for table in tables:
        sizes: list[int] = []
        per_partition: dict[str, list[int]] = {}
        for part_dir in sorted((curated / table).glob("snapshot_date=*")):
            files = [f.stat().st_size for f in part_dir.glob("*.parquet")]
            per_partition[part_dir.name] = files
            sizes.extend(files)
        flagged = [
            name for name, files in per_partition.items() if len(files) > 1 and sum(files) < SMALL_FILE_BYTES
        ]
        result.append(
            TableLayout(
                table=table,
                partitions=len(per_partition),
                files=len(sizes),
                max_files_per_partition=max((len(f) for f in per_partition.values()), default=0),
                flagged_partitions=flagged,
                file_bytes_min=min(sizes, default=0),
                file_bytes_median=int(statistics.median(sizes)) if sizes else 0,
                file_bytes_max=max(sizes, default=0),
                total_bytes=sum(sizes),
            )
        )
    return result
