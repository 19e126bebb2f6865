"""One writer per lake: an exclusive lock on ``<lake>/_writer.lock``, held for the whole run.

Two runs that write one lake at once can lose data silently: each lists raw/, stages, and swaps
partitions, and the later swap deletes the files the other run just moved in while both bookmarks record
the objects as processed. So every local writer (``spotify-etl transform``, ``spotify-etl run``, the
bookmark commands) takes this lock first. A second writer refuses at once with a one-line message naming
the holder (``LakeLocked``, exit code ``EXIT_LOCKED``), or with ``--wait`` blocks until the holder is done.

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
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from spotify_etl.lake import LakeLayout

EXIT_LOCKED = 3

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


@contextmanager
def writer_lock(
    lake: LakeLayout | Path, *, wait: bool = False, on_wait: Callable[[str], None] | None = None
) -> Iterator[None]:
    """Hold the lake's writer lock for the ``with`` block (see the module doc).

    Raises:
        LakeLocked: another writer holds it and ``wait`` is false.
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
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = describe_holder(layout)
            if not wait:
                raise LakeLocked(
                    f"lake {lake} is locked by another writer ({holder}); wait for it to finish, "
                    "or pass --wait to wait for it"
                ) from None
            if on_wait is not None:
                on_wait(f"waiting for the writer lock of {lake} ({holder})")
            fcntl.flock(fd, fcntl.LOCK_EX)
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
