"""Bounded by construction: an object's bytes, inflated bytes and nesting depth are checked before Spark reads
it (spotify_etl/transform/bounds.py), and a batch holding a gzip bomb, an object of 100,000 items and one
nested 10,000 deep lands its good objects and quarantines each bad one with the figure and the limit."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from chispa import assert_df_equality
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from spotify_etl.runtime.local.transform import config_for_lake, run_local_transform
from spotify_etl.transform.bounds import MAX_INFLATED_BYTES, Limits, _DepthScanner, check_object
from tests import builders as b
from tests.unit.transform.test_writer import _assert_same_curated, _observation, _table_df

pytestmark = pytest.mark.slow  # a module of slower tests: scheduled first (tests/conftest.py)

DAY1 = datetime(2026, 11, 20, 3, 0, 5, tzinfo=UTC)
MIB = 1024 * 1024


def _reference_depth(text: bytes) -> int:
    """Nesting depth, one byte at a time (the obvious state machine the scanner must agree with)."""
    depth = deepest = 0
    in_string = escaped = False
    for byte in text:
        char = chr(byte)
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


TRICKY = [
    json.dumps({"a": [1, {"b": "x[y{z"}], "c": 'q"[[[\\'}).encode(),
    json.dumps([["\\", '\\\\"[', {"k": ["]]]}}", "{{{"]}]]).encode(),
    b'{"name": "Royal \\"Blood\\" [live] {x}", "d": [[[[]]]], "e": ""}',
    json.dumps(b.envelope(playlist=b.playlist(id="p1", name='A "[{" name \\'))).encode(),
]


@pytest.mark.parametrize("text", TRICKY)
def test_the_depth_scanner_agrees_with_the_byte_by_byte_rule_for_every_chunk_size(text: bytes) -> None:
    expected = _reference_depth(text)
    for size in range(1, len(text) + 1):
        scanner = _DepthScanner()
        for start in range(0, len(text), size):
            scanner.feed(text[start : start + size])
        assert (size, scanner.deepest) == (size, expected)


def _gzip_file(path: Path, pieces: Iterator[bytes], level: int = 1) -> Path:
    """Write the pieces through gzip one at a time: a huge object is never held whole."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(path, "wb", compresslevel=level) as stream:
        for piece in pieces:
            stream.write(piece)
    return path


def _check(path: Path, limits: Limits | None = None) -> tuple[str, str, str] | None:
    return check_object(path, "u", path.stat().st_size, limits or Limits())


def test_an_object_within_every_bound_passes(tmp_path: Path) -> None:
    path = _gzip_file(tmp_path / "ok.json.gz", iter(TRICKY[3:]))
    assert _check(path) is None


def test_compressed_bytes_over_the_limit_are_refused_before_the_object_is_opened(tmp_path: Path) -> None:
    path = tmp_path / "big.json.gz"
    path.write_bytes(b"not even gzip" * 100)  # never opened: the listing's size decides

    assert _check(path, Limits(compressed_bytes=1000)) == (
        "u",
        "too_large",
        "the object is 1,300 bytes of gzip; the transform reads objects of at most 1,000 bytes "
        "(docs/design.md s.2)",
    )


def test_inflating_stops_at_the_limit(tmp_path: Path) -> None:
    path = _gzip_file(tmp_path / "bomb.json.gz", (b"\0" * MIB for _ in range(8)))
    size = path.stat().st_size

    assert _check(path, Limits(inflated_bytes=2 * MIB)) == (
        "u",
        "too_large",
        f"the object inflates to more than 2,097,152 bytes (stopped reading there; {size:,} bytes of gzip); "
        "the transform reads objects of at most 2,097,152 bytes inflated (docs/design.md s.2)",
    )


def test_nesting_over_the_limit_is_too_deep(tmp_path: Path) -> None:
    path = _gzip_file(tmp_path / "deep.json.gz", iter([b'{"a":' + b"[" * 10 + b"]" * 10 + b"}"]))

    assert _check(path, Limits(nesting_depth=10)) == (
        "u",
        "too_deep",
        "JSON nesting deeper than 10 levels (reached 11 within the first 26 bytes); a Spotify envelope is "
        "about 7 deep (docs/design.md s.2)",
    )
    assert _check(path, Limits(nesting_depth=11)) is None


def test_a_stream_that_is_not_gzip_is_left_to_the_readers_rule(tmp_path: Path) -> None:
    path = tmp_path / "plain.json.gz"
    path.write_bytes(b'{"schema_version": 1}')
    assert _check(path) is None


def _land_raw(raw: Path, name: str, pieces: Iterator[bytes]) -> str:
    path = _gzip_file(
        raw / "playlists" / "ingest_date=2026-11-20" / name / "20261120T030005Z-0.json.gz", pieces
    )
    return path.as_uri().replace("%3D", "=")


def _too_large(uri: str) -> tuple[str, str]:
    size = Path(uri.removeprefix("file://")).stat().st_size
    return "too_large", (
        f"the object inflates to more than {MAX_INFLATED_BYTES:,} bytes (stopped reading there; {size:,} bytes "
        f"of gzip); the transform reads objects of at most {MAX_INFLATED_BYTES:,} bytes inflated "
        "(docs/design.md s.2)"
    )


def _hostile_batch(raw: Path) -> dict[str, tuple[str, str]]:
    """The three bad objects of the acceptance, written streaming: URI -> (reason, detail)."""
    template = _observation("big", DAY1, ["t1"])
    item = json.dumps(template["items"][0]).encode()
    head, tail = json.dumps(template).encode().split(item, 1)
    hundred_thousand = (
        head if i == 0 else tail if i == 100_001 else (b"," if i > 1 else b"") + item for i in range(100_002)
    )
    deep = json.dumps(_observation("deep", DAY1, ["t1"])).encode()
    deep = deep.replace(b'"items":', b'"x": ' + b"[" * 10_000 + b"]" * 10_000 + b', "items":', 1)
    bomb = _land_raw(raw, "playlist_id=bomb", (b"\0" * MIB for _ in range(512)))  # 512 MiB of zeros
    big = _land_raw(raw, "playlist_id=big", hundred_thousand)
    return {
        bomb: _too_large(bomb),
        big: _too_large(big),
        _land_raw(raw, "playlist_id=deep", iter([deep])): (
            "too_deep",
            f"JSON nesting deeper than 64 levels (reached 10001 within the first {len(deep):,} bytes); "
            "a Spotify envelope is about 7 deep (docs/design.md s.2)",
        ),
    }


def test_a_bomb_a_huge_and_a_deep_object_are_quarantined_and_the_good_objects_land(
    spark: SparkSession, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    good = [_observation("p1", DAY1, ["t1", "t2"]), _observation("p2", DAY1, ["t3"])]
    for envelope in good:
        b.land(tmp_path / "raw", envelope)
    bad = _hostile_batch(tmp_path / "raw")
    config, bookmarks = config_for_lake(tmp_path)

    summary = run_local_transform(config, spark, bookmarks_root=bookmarks)

    assert (summary.objects_valid, summary.rejected, summary.bookmark_committed) == (
        2,
        {"too_large": 2, "too_deep": 1},
        True,
    )
    clean = tmp_path_factory.mktemp("clean")
    for envelope in good:
        b.land(clean / "raw", envelope)
    run_local_transform(*config_for_lake(clean)[:1], spark, bookmarks_root=config_for_lake(clean)[1])
    _assert_same_curated(spark, tmp_path, clean)
    rejected = _table_df(spark, tmp_path, "rejected").select("source_file", "reason", "detail")
    expected = spark.createDataFrame(
        [(uri.split("/raw/", 1)[1], reason, detail) for uri, (reason, detail) in bad.items()],
        "source_file string, reason string, detail string",
    ).withColumn("source_file", F.concat(F.lit("raw/"), "source_file"))
    assert_df_equality(rejected, expected, ignore_row_order=True, ignore_nullable=True)
