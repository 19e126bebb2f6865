"""What one raw object may cost, checked before Spark materializes it (docs/design.md s.2, "Bounds").

Spark reads a raw object as one row holding its whole text, then parses it; an object of any size is
materialized before any rule can look at it. A 510 KB gzip that inflates to 500 MB, or an object of 100,000
playlist items, ran the JVM out of heap before ``too_large`` was ever evaluated, and since the bookmark does not
move past a failed run, every later run died the same way. So every new object is checked here first, in the
driver, streaming, with memory independent of the object: a bad one is quarantined with the figure and the
limit, and Spark never reads it.

The limits come from what the Spotify Web API can return. A playlist holds at most 10,000 items; the envelope
of such a playlist (the wild world's largest, docs/transform.md "Long objects") is about 31 MB of JSON, 2.4 MB
of gzip, 7 levels deep. The limits keep a margin of 2x above that:

=====================  ==============  ===================================================================
bound                  limit           checked
=====================  ==============  ===================================================================
compressed bytes       64 MiB          from the listing, before the object is opened (``too_large``)
inflated bytes         64 MiB          while decompressing, stopping at the limit (``too_large``)
JSON nesting depth     64              while decompressing, on the text outside strings (``too_deep``)
items per observation  10,000          in the run's single parse (``too_many_items``, validate.py)
=====================  ==============  ===================================================================

Gzip never makes JSON larger, so an object over the compressed limit is over the inflated one as well.
"""

from __future__ import annotations

import gzip
import re
import zlib
from dataclasses import dataclass
from itertools import accumulate
from pathlib import Path

MAX_COMPRESSED_BYTES = 64 * 1024 * 1024
MAX_INFLATED_BYTES = 64 * 1024 * 1024
MAX_NESTING_DEPTH = 64
# Spotify's limit of a playlist's items ("Playlists can have up to 10,000 items"): an observation with more
# cannot be one consistent fetch of one playlist.
MAX_ITEMS = 10_000

_CHUNK = 1024 * 1024
_ESCAPE = re.compile(rb"\\.", re.DOTALL)
_NOT_MARK = bytes(b for b in range(256) if b not in b'"[]{}')
_STEP = bytes.maketrans(b"[{]}", b"\x01\x01\xff\xff")  # +1 / -1 as signed bytes

Rejection = tuple[str, str, str]


@dataclass(frozen=True)
class Limits:
    """The bounds one run applies (the module's table; a test passes smaller ones)."""

    compressed_bytes: int = MAX_COMPRESSED_BYTES
    inflated_bytes: int = MAX_INFLATED_BYTES
    nesting_depth: int = MAX_NESTING_DEPTH


class _DepthScanner:
    """The greatest nesting depth of JSON text fed in chunks, counting brackets outside strings only.

    Escapes are dropped first (``\\"`` can then never end a string), so whether a byte is inside a string is
    the parity of the quotes before it. Only quotes and brackets are kept, adjacent quote pairs (strings
    without a bracket, nearly all of them) are dropped, which keeps every parity, and the few strings left
    are cut out. Everything runs in C (regex, translate, replace, split, accumulate): Python touches each
    chunk a constant number of times.
    """

    def __init__(self) -> None:
        self.depth = 0
        self.deepest = 0
        self._in_string = False
        self._pending = b""  # a backslash that ended the previous chunk (its escaped byte comes next)

    def feed(self, chunk: bytes) -> None:
        text = _ESCAPE.sub(b"", self._pending + chunk)
        self._pending = b"\\" if text.endswith(b"\\") else b""
        marks = text.translate(None, _NOT_MARK).replace(b'""', b"")
        parts = ((b'"' if self._in_string else b"") + marks).split(b'"')
        self._in_string = len(parts) % 2 == 0
        steps = memoryview(b"".join(parts[0::2]).translate(_STEP)).cast("b")
        if len(steps):
            self.deepest = max(self.deepest, max(accumulate(steps, initial=self.depth)))
            self.depth += sum(steps)


def check_object(path: Path, uri: str, size: int, limits: Limits = Limits()) -> Rejection | None:
    """``(uri, reason, detail)`` when the gzip object at ``path`` exceeds a bound, else None.

    Reads at most ``limits.inflated_bytes`` of inflated text, one chunk at a time. A stream that is not
    gzip, or is truncated, is left to the reader's own rule (``not_gzip``): this check answers None for it.

    Raises:
        OSError: the object cannot be read (permissions, I/O): an environment fault, not the object's.
    """
    if size > limits.compressed_bytes:
        return (
            uri,
            "too_large",
            (
                f"the object is {size:,} bytes of gzip; the transform reads objects of at most "
                f"{limits.compressed_bytes:,} bytes (docs/design.md s.2)"
            ),
        )
    scanner = _DepthScanner()
    inflated = 0
    try:
        with gzip.open(path, "rb") as stream:
            while chunk := stream.read(_CHUNK):
                inflated += len(chunk)
                if inflated > limits.inflated_bytes:
                    return (
                        uri,
                        "too_large",
                        (
                            f"the object inflates to more than {limits.inflated_bytes:,} bytes (stopped reading "
                            f"there; {size:,} bytes of gzip); the transform reads objects of at most "
                            f"{limits.inflated_bytes:,} bytes inflated (docs/design.md s.2)"
                        ),
                    )
                scanner.feed(chunk)
                if scanner.deepest > limits.nesting_depth:
                    return (
                        uri,
                        "too_deep",
                        (
                            f"JSON nesting deeper than {limits.nesting_depth} levels (reached "
                            f"{scanner.deepest} within the first {inflated:,} bytes); a Spotify envelope is "
                            "about 7 deep (docs/design.md s.2)"
                        ),
                    )
    except (gzip.BadGzipFile, EOFError, zlib.error):
        return None
    return None
