"""How the report's files are written, so that ``index.html`` never points at a half-written report.

- Every file is written to a temporary name in the report folder and renamed into place (a rename within
  one folder is atomic on POSIX), so a reader sees the old file or the new one, never a torn one.
- Chart images carry the run's stamp in their name (``rank-over-time-<stamp>.png``): a new run never
  overwrites an image the current page shows. The page is renamed into place last; only then are the
  images that no page refers to any more deleted.
- A successful run also writes ``last-good.html`` (the same page). A failed run replaces ``index.html`` with
  a failure page naming the error, the time and a link to ``last-good.html``, so a stale report never
  looks current.
"""

from __future__ import annotations

import os
import re
import secrets
import tempfile
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

INDEX = "index.html"
LAST_GOOD = "last-good.html"


def run_stamp(now: datetime | None = None) -> str:
    """A stamp unique to one report run: UTC time to the second plus 4 random hex digits."""
    return f"{(now or datetime.now(UTC)):%Y%m%dT%H%M%SZ}-{secrets.token_hex(2)}"


def write_atomically(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder and a rename."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def temporary_path(folder: Path, name: str) -> Path:
    """A fresh temporary path in ``folder`` for a file that will be renamed to ``name``."""
    fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=folder)
    os.close(fd)
    return Path(tmp)


def remove_unreferenced_images(folder: Path, slugs: Iterable[str], keep: Iterable[str]) -> None:
    """Delete the chart images of ``slugs`` (any run's stamp, or none) that are not in ``keep``."""
    kept = set(keep)
    pattern = re.compile("^(" + "|".join(re.escape(s) for s in slugs) + r")(-[0-9A-Za-z-]+)?\.png$")
    for path in folder.iterdir():
        if pattern.match(path.name) and path.name not in kept:
            path.unlink(missing_ok=True)
