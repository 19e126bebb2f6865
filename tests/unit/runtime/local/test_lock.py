"""One writer per lake: a second writer is refused (naming the holder) or waits; a dead holder's lock is free."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from spotify_etl.lake import LakeLayout
from spotify_etl.runtime.local.lock import EXIT_LOCKED, LakeLocked, writer_lock

HOLDER = """
import sys
from pathlib import Path
from spotify_etl.runtime.local.lock import writer_lock
with writer_lock(Path(sys.argv[1])):
    print("held", flush=True)
    sys.stdin.readline()
"""


@pytest.fixture()
def holder(tmp_path: Path) -> Iterator[subprocess.Popen[str]]:
    """Another process holding the lake's lock until its stdin is closed."""
    process = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(tmp_path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[4],
    )
    assert process.stdout is not None and process.stdout.readline() == "held\n"
    yield process
    if process.poll() is None:
        process.kill()
    process.wait()


def test_a_second_writer_is_refused_with_the_holders_pid_host_and_start(
    tmp_path: Path, holder: subprocess.Popen[str]
) -> None:
    with pytest.raises(LakeLocked) as refused, writer_lock(tmp_path):
        pass
    message = str(refused.value)
    assert f"locked by another writer (pid {holder.pid} on {socket.gethostname()} since 20" in message
    assert "\n" not in message and message.endswith("or pass --wait to wait for it")


def test_wait_blocks_until_the_holder_is_done(tmp_path: Path, holder: subprocess.Popen[str]) -> None:
    entered = threading.Event()
    waits: list[str] = []

    def second_writer() -> None:
        with writer_lock(tmp_path, wait=60, on_wait=waits.append):
            entered.set()

    thread = threading.Thread(target=second_writer)
    thread.start()
    assert not entered.wait(1.0)  # the holder is alive: the second writer is still waiting
    assert waits == [
        f"waiting for the writer lock of {tmp_path.resolve()} ({LakeLayout.from_lake(tmp_path).writer_lock.read_text().strip()})"
    ]
    assert holder.stdin is not None
    holder.stdin.close()  # the holder finishes
    thread.join(timeout=60)
    assert entered.is_set()


def test_the_lock_of_a_killed_process_is_taken_over(tmp_path: Path, holder: subprocess.Popen[str]) -> None:
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait()
    assert (
        f"pid {holder.pid} " in LakeLayout.from_lake(tmp_path).writer_lock.read_text()
    )  # its holder text is left behind ...
    with writer_lock(tmp_path):
        assert (
            LakeLayout.from_lake(tmp_path).writer_lock.read_text().startswith(f"pid {os.getpid()} on ")
        )  # ... and replaced


def test_the_holder_may_take_it_again_other_threads_may_not(tmp_path: Path) -> None:
    refused: list[BaseException] = []

    def other_thread() -> None:
        try:
            with writer_lock(tmp_path):
                pass
        except LakeLocked as error:
            refused.append(error)

    with writer_lock(tmp_path), writer_lock(tmp_path):
        thread = threading.Thread(target=other_thread)
        thread.start()
        thread.join()
    assert len(refused) == 1
    with writer_lock(tmp_path):  # released after the outer block
        pass


WRITERS = [
    ["transform"],
    ["run", "--no-report"],
    ["bookmark", "reset"],
    ["bookmark", "rewind", "--to", "2026-11-20"],
    ["crawl"],
]


@pytest.mark.parametrize("command", WRITERS)
def test_commands_refuse_a_locked_lake_with_one_line_and_exit_3(
    tmp_path: Path, holder: subprocess.Popen[str], command: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    from spotify_etl.cli import main

    (tmp_path / "raw").mkdir()
    assert main([*command, "--lake", str(tmp_path)]) == EXIT_LOCKED == 3
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"is locked by another writer (pid {holder.pid} on " in err


@pytest.mark.parametrize("command", WRITERS)
def test_every_writer_waits_at_most_its_timeout_then_refuses_in_one_line(
    tmp_path: Path, holder: subprocess.Popen[str], command: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    from spotify_etl.cli import main

    (tmp_path / "raw").mkdir()
    started = time.monotonic()
    assert main([*command, "--lake", str(tmp_path), "--wait", "0.5"]) == EXIT_LOCKED
    assert 0.5 <= time.monotonic() - started < 5
    captured = capsys.readouterr()  # the waiting line: progress (stdout) for run, stderr for the others
    assert "waiting for the writer lock of" in captured.out + captured.err
    lines = [line for line in captured.err.splitlines() if "waiting for" not in line]
    assert len(lines) == 1
    assert f"is still locked by another writer (pid {holder.pid} on " in lines[0]
    assert lines[0].endswith("after waiting 0.5 s; try again later, or pass a longer --wait SECONDS")


def test_a_transform_writing_another_lakes_folders_holds_that_lakes_lock(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from spotify_etl.cli import main

    lake_a, lake_b = tmp_path / "a", tmp_path / "b"
    (lake_a / "raw").mkdir(parents=True)
    process = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(lake_b)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[4],
    )
    try:
        assert process.stdout is not None and process.stdout.readline() == "held\n"
        code = main(
            [
                "transform",
                "--lake",
                str(lake_a),
                "--curated",
                str(lake_b / "curated"),
                "--quarantine",
                str(lake_b / "quarantine"),
            ]
        )
        assert code == EXIT_LOCKED
        err = capsys.readouterr().err
        assert (
            err.count("\n") == 1
            and f"lake {lake_b.resolve()} is locked by another writer (pid {process.pid}" in err
        )
    finally:
        process.kill()
        process.wait()


def test_wait_refuses_a_figure_that_is_not_seconds(capsys: pytest.CaptureFixture[str]) -> None:
    from spotify_etl.cli import main

    with pytest.raises(SystemExit) as exited:
        main(["transform", "--wait", "-1"])
    assert exited.value.code == 2
    assert "--wait takes a number of seconds, not '-1'" in capsys.readouterr().err
