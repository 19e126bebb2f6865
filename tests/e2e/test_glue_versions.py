"""The same raw objects give the same tables, row for row, on Glue 5.0 (Spark 3.5.4) and Glue 6.0 (Spark 4.1.1).

Runs the transform (``spotify-etl transform``, the Glue job's code) once in each version's venv on copies of
one raw lake, then compares the six curated tables and the quarantine with DuckDB (multiset difference over
every column). Needs both venvs: ``make test`` builds ``.venv/``, ``make test GLUE_VERSION=6.0``
``.venv-glue6/``; ``.ci/run`` builds both, so CI always runs it.
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest

from bench.compare import compare_outputs
from infra.scripts.cfn import REPO_ROOT
from spotify_etl.transform.registry import CURATED_TABLES
from tests import builders as b

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

VENVS = {"5.0": REPO_ROOT / ".venv", "6.0": REPO_ROOT / ".venv-glue6"}
DAY = "2026-11-22"
S = b.spotify_id  # the quality rules accept only Spotify-shaped ids (22 base62 characters)


def _cli(version: str) -> Path:
    cli = VENVS[version] / "bin" / "spotify-etl"
    if not cli.is_file():
        pytest.skip(f"Glue {version}'s venv is missing ({cli}): run `make install GLUE_VERSION={version}`")
    return cli


def _land_text(raw: Path, playlist_id: str, name: str, text: str) -> None:
    path = raw / "playlists" / f"ingest_date={DAY}" / f"playlist_id={playlist_id}" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(text.encode("utf-8"), mtime=0))


def _at(day: int, second: int) -> datetime:
    return datetime(2026, 11, day, 3, 0, second, tzinfo=UTC)


def _raw_lake(root: Path) -> Path:
    """Ordinary observations, values that ANSI mode refuses to cast, and objects the quarantine takes."""
    raw = root / "raw"
    hostile_album = {**b.album(id=S("a_huge"), name="Huge"), "total_tracks": 2**40, "release_date": "0000"}
    episode_and_local = [b.playlist_item(b.episode(id=S("e1"))), b.playlist_item(b.local_track(name="Demo"))]
    for moment, playlist_id, tracks in [
        (
            _at(21, 5),
            S("p1"),
            [b.track(id=S("t1")), b.track(id=S("t2"), album=b.album(id=S("a2"), name="Two"))],
        ),
        (_at(22, 5), S("p1"), [b.track(id=S("t2")), b.track(id=S("t3"))]),
        (_at(22, 7), S("p2"), [{**b.track(id=S("t4"), album=hostile_album), "disc_number": 2**33}]),
    ]:
        items = [b.playlist_item(t) for t in tracks] + (episode_and_local if playlist_id == S("p2") else [])
        b.land(raw, b.envelope(playlist=b.playlist(id=playlist_id), items=items, extracted_at=moment))
    _land_text(raw, S("p3"), "20261122T030009Z-blank.json.gz", "\n   \n")
    _land_text(raw, S("p3"), "20261122T030010Z-broken.json.gz", '{"schema_version": 1, "playl')
    month_13 = json.dumps(b.envelope(playlist=b.playlist(id=S("p3")), extracted_at=_at(22, 11)))
    assert '"2026-11-22T03:00:11Z"' in month_13
    month_13 = month_13.replace('"2026-11-22T03:00:11Z"', '"2026-13-22T03:00:11Z"')
    _land_text(raw, S("p3"), "20261122T030011Z-month13.json.gz", month_13)
    return raw


def _transform(version: str, raw: Path, lake: Path) -> None:
    shutil.copytree(raw, lake / "raw")
    python = str(VENVS[version] / "bin" / "python")
    env = {**os.environ, "PYSPARK_PYTHON": python, "PYSPARK_DRIVER_PYTHON": python}
    result = subprocess.run(
        [str(_cli(version)), "transform", "--lake", str(lake)], capture_output=True, text=True, env=env
    )
    assert result.returncode == 0, f"Glue {version}: {result.stdout}\n{result.stderr}"


def _quarantined(lake: Path) -> list[tuple[str, str]]:
    pattern = str(lake / "quarantine" / "**" / "*.parquet")
    rows = duckdb.sql(
        f"SELECT regexp_replace(source_file, '^.*/raw/', ''), reason FROM read_parquet('{pattern}') ORDER BY 1"
    ).fetchall()
    return [(str(key), str(reason)) for key, reason in rows]


def _row_counts(curated: Path) -> dict[str, int]:
    counts = {}
    for table in CURATED_TABLES:
        pattern = str(curated / table / "**" / "*.parquet")
        counts[table] = duckdb.sql(f"SELECT count(*) FROM read_parquet('{pattern}')").fetchone()[0]
    return counts


def test_glue_5_and_glue_6_land_the_same_rows_and_quarantine_the_same_objects(tmp_path: Path) -> None:
    _cli("5.0"), _cli("6.0")
    raw = _raw_lake(tmp_path / "source")
    lakes = {version: tmp_path / f"glue{version}" for version in VENVS}
    for version, lake in lakes.items():
        _transform(version, raw, lake)

    differences = compare_outputs(lakes["5.0"] / "curated", lakes["6.0"] / "curated")

    assert differences == {table: {"only_spark": 0, "only_duckdb": 0} for table in CURATED_TABLES}
    counts = _row_counts(lakes["5.0"] / "curated")
    assert counts == _row_counts(lakes["6.0"] / "curated")
    assert all(counts.values()), counts  # every table compared real rows
    quarantined = _quarantined(lakes["5.0"])
    assert quarantined == _quarantined(lakes["6.0"])
    assert sorted(reason for _, reason in quarantined) == sorted(["empty", "not_json", "bad_extracted_at"])
