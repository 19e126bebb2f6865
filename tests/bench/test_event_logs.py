"""The benchmark reads Spark's event logs in both layouts: one file (Spark 3.5) and a rolling folder (Spark 4)."""

from __future__ import annotations

import json
from pathlib import Path

from bench.measure import read_event_logs

EVENTS = [
    {"Event": "SparkListenerJobStart", "Stage IDs": [0, 1]},
    {"Event": "SparkListenerStageCompleted", "Stage Info": {"Stage ID": 0, "Number of Tasks": 2}},
    {"Event": "SparkListenerTaskEnd", "Task End Reason": {"Reason": "Success"}, "Task Metrics": {}},
    {"Event": "SparkListenerTaskEnd", "Task End Reason": {"Reason": "ExceptionFailure"}, "Task Metrics": {}},
]


def _write(path: Path, events: list[dict[str, object]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(e) + "\n" for e in events), encoding="utf-8")


def test_a_rolling_event_log_folder_counts_as_the_single_file_does(tmp_path: Path) -> None:
    _write(tmp_path / "single" / "local-1", EVENTS)
    rolling = tmp_path / "rolling" / "eventlog_v2_local-1"
    _write(rolling / "events_1_local-1", EVENTS[:2])
    _write(rolling / "events_2_local-1", EVENTS[2:])
    (rolling / "appstatus_local-1").write_text("", encoding="utf-8")
    (rolling / ".events_1_local-1.crc").write_bytes(b"crc\x00\xff\xfe")  # Hadoop's local checksum file

    single = read_event_logs(tmp_path / "single").as_dict()
    assert read_event_logs(tmp_path / "rolling").as_dict() == single
    assert (
        single["jobs"],
        single["stages"],
        single["stages_skipped"],
        single["tasks"],
        single["failed_tasks"],
    ) == (
        1,
        1,
        1,
        2,
        1,
    )
