"""One writer per lake: an exclusive lock on ``<lake>/_writer.lock``, held for the whole run.

Two runs that write one lake at once can lose data silently: each lists raw/, stages, and swaps
partitions, and the later swap deletes the files the other run just moved in while both bookmarks record
the objects as processed. So every local writer (``spotify-etl transform``, ``spotify-etl run``, the
bookmark commands, ``spotify-etl crawl``) takes this lock first, for every lake folder it writes (a
transform given ``--curated B/curated`` writes lake B too: :func:`writer_locks`). A second writer refuses at
once with a one-line message naming the holder (``LakeLocked``, exit code ``EXIT_LOCKED``), or with
``--wait [SECONDS]`` waits for the holder, at most that long (``DEFAULT_WAIT_SECONDS`` without a figure),
then refuses the same way.

The lock is ``flock(2)`` on the file: the kernel releases it when the holding process exits, however it
exits (crash, ``kill -9``), so a stale lock of a dead process never blocks anyone; the holder text left in
the file is overwritten by the next holder. Re-entrant within one thread (``make run`` holds it and calls
the transform, which asks again); other threads and processes are excluded.

On AWS the job's ``MaxConcurrentRuns: 1`` and the workflow give the same guarantee (docs/design.md s.5).
"""

from __future__ import annotations

import fcntl
import os
import socket
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from pathlib import Path

from spotify_etl.lake import LakeLayout

EXIT_LOCKED = 3
DEFAULT_WAIT_SECONDS = 3600.0  # ``--wait`` without a figure: longer than any local run, still not forever
_POLL_SECONDS = 0.1

_held = threading.local()


class LakeLocked(RuntimeError):
    """Another live process (or thread) holds the lake's writer lock."""


def _holder_text() -> str:
    started = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return f"pid {os.getpid()} on {socket.gethostname()} since {started}"


def describe_holder(lake: LakeLayout | Path) -> str:
    """Who holds (or last held) the lock, as its holder wrote it."""
    try:
        text = LakeLayout.of(lake).writer_lock.read_text(encoding="utf-8").strip()
    except OSError:
        text = ""
    return text or "an unknown process"


def _acquire(fd: int, layout: LakeLayout, wait: float | None, on_wait: Callable[[str], None] | None) -> None:
    """Take the lock on ``fd`` now, or within ``wait`` seconds (polling), or raise ``LakeLocked``."""
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return
    except BlockingIOError:
        holder = describe_holder(layout)
    lake = layout.local_root.resolve()
    if wait is None:
        raise LakeLocked(
            f"lake {lake} is locked by another writer ({holder}); wait for it to finish, "
            "or pass --wait to wait for it"
        ) from None
    if on_wait is not None:
        on_wait(f"waiting for the writer lock of {lake} ({holder})")
    deadline = time.monotonic() + wait
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() >= deadline:
                raise LakeLocked(
                    f"lake {lake} is still locked by another writer ({describe_holder(layout)}) after waiting "
                    f"{round(wait, 1):g} s; try again later, or pass a longer --wait SECONDS"
                ) from None
            time.sleep(_POLL_SECONDS)


@contextmanager
def writer_lock(
    lake: LakeLayout | Path, *, wait: float | None = None, on_wait: Callable[[str], None] | None = None
) -> Iterator[None]:
    """Hold the lake's writer lock for the ``with`` block (see the module doc).

    Args:
        lake: the lake folder.
        wait: None refuses at once when another writer holds it; else wait at most this many seconds.
        on_wait: told once, in one line, when the lock is busy and the writer waits.

    Raises:
        LakeLocked: another writer holds it (and still does after ``wait``).
    """
    layout = LakeLayout.of(lake)
    lake = layout.local_root.resolve()
    counts: dict[Path, int] = getattr(_held, "counts", None) or {}
    _held.counts = counts
    if counts.get(lake):
        counts[lake] += 1
        try:
            yield
        finally:
            counts[lake] -= 1
        return
    lake.mkdir(parents=True, exist_ok=True)
    fd = os.open(layout.writer_lock, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        _acquire(fd, layout, wait, on_wait)
        os.ftruncate(fd, 0)
        os.pwrite(fd, (_holder_text() + "\n").encode(), 0)
        counts[lake] = 1
        try:
            yield
        finally:
            counts[lake] = 0
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


@contextmanager
def writer_locks(
    lakes: Iterable[Path], *, wait: float | None = None, on_wait: Callable[[str], None] | None = None
) -> Iterator[None]:
    """Hold the writer lock of every lake in ``lakes`` (each once, in path order, so that two writers
    asking for the same lakes never deadlock); ``wait`` bounds the whole acquisition."""
    deadline = None if wait is None else time.monotonic() + wait
    with ExitStack() as stack:
        for lake in sorted({lake.resolve() for lake in lakes}):
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            stack.enter_context(writer_lock(lake, wait=left, on_wait=on_wait))
        yield
