"""Benchmark data: raw playlist observations (docs/design.md s.2) from the chart world, per tier, cached.

A tier is a number of observations of 100 items each (S 200, M 2,000, L 20,000), laid out as
``n_playlists`` playlists observed once a day for ``days`` days. The chart world makes the data
realistic: the same tracks recur across days and playlists (so the merge has real duplicates), artists
are enriched, and a few items are local files, episodes or unavailable.

Each tier also gets two increments, landed after the base run by the harness:

* ``inc1``: one new observation (playlist 0, on the day after the last base day): a new partition.
* ``inc50``: 50 observations: 49 more playlists on that new day, plus a later observation (15:00) of
  playlist 0 on the last base day, which forces the merge of an existing partition.

Objects are written with the production landing code (``build_envelope``, ``encode_envelope``,
``raw_key``, ``LocalLander``), so their keys and bytes are exactly what the extractor lands. A tier is
generated once per (tier, seed) under ``bench/data/`` and reused; ``manifest.json`` marks it complete.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from spotify_etl.local_extract import LocalLander, land_simulated
from spotify_etl.simulator.world import ChartWorld

GENERATOR_VERSION = 1
DATA_DIR = Path(__file__).resolve().parent / "data"
START = date(2026, 10, 1)
ITEMS_PER_OBSERVATION = 100
INC50_LATER_HOUR = 15


@dataclass(frozen=True)
class TierShape:
    """How a tier's observations are laid out: playlists x daily observations."""

    name: str
    n_playlists: int
    days: int

    @property
    def observations(self) -> int:
        return self.n_playlists * self.days


TIERS: dict[str, TierShape] = {
    "S": TierShape("S", n_playlists=50, days=4),
    "M": TierShape("M", n_playlists=100, days=20),
    "L": TierShape("L", n_playlists=1000, days=20),
}


@dataclass(frozen=True)
class Observation:
    """One observation to generate: playlist index, day offset from START, time of day."""

    playlist_index: int
    day: int
    hour: int = 3

    def extracted_at(self) -> datetime:
        moment = datetime.combine(START + timedelta(days=self.day), datetime.min.time(), tzinfo=UTC)
        # Playlists are fetched one after another: a second apart, from hh:00:00.
        return moment + timedelta(hours=self.hour, seconds=self.playlist_index)


@dataclass(frozen=True)
class RawSet:
    """A folder of raw objects (a raw root holding ``playlists/...``) and its sizes."""

    raw: Path
    objects: int
    items: int
    bytes_gz: int
    bytes_json: int


@dataclass(frozen=True)
class TierData:
    """A generated tier: the base raw set and the two increments."""

    tier: str
    seed: int
    root: Path
    base: RawSet
    inc1: RawSet
    inc50: RawSet
    generation_seconds: float
    world: str


def _world(seed: int, shape: TierShape) -> ChartWorld:
    return ChartWorld(seed, start=START, n_playlists=shape.n_playlists, playlist_size=ITEMS_PER_OBSERVATION)


def _playlist_ids(world: ChartWorld) -> list[str]:
    return list(world.playlist_ids)


def base_observations(shape: TierShape) -> list[Observation]:
    """Every playlist once a day at 03:00 (a second apart), for ``shape.days`` days."""
    return [Observation(p, d) for d in range(shape.days) for p in range(shape.n_playlists)]


def increments(shape: TierShape) -> tuple[list[Observation], list[Observation]]:
    """The observations of ``inc1`` and ``inc50`` for a tier shape."""
    new_day = shape.days
    inc1 = [Observation(0, new_day)]
    more = [Observation(i % shape.n_playlists, new_day, 3 + i // shape.n_playlists) for i in range(1, 50)]
    later = Observation(0, shape.days - 1, INC50_LATER_HOUR)
    return inc1, [*more, later]


def _write_chunk(args: tuple[int, TierShape, Path, list[Observation]]) -> tuple[int, int, int, int]:
    """Generate and land a list of observations; return (objects, items, bytes_gz, bytes_json)."""
    seed, shape, raw, observations = args
    world = _world(seed, shape)
    ids = _playlist_ids(world)
    lander = LocalLander(raw)
    objects = items_n = gz = plain = 0
    for obs in observations:
        envelope, body = land_simulated(lander, world, ids[obs.playlist_index], obs.extracted_at())
        objects += 1
        items_n += len(envelope["items"])
        gz += len(body)
        plain += len(json.dumps(envelope, ensure_ascii=False, separators=(",", ":")).encode()) + 1
    return objects, items_n, gz, plain


def _chunks(observations: list[Observation], n: int) -> Iterable[list[Observation]]:
    size = max(1, -(-len(observations) // n))
    for start in range(0, len(observations), size):
        yield observations[start : start + size]


def write_raw_set(
    seed: int, shape: TierShape, raw: Path, observations: list[Observation], workers: int = 2
) -> RawSet:
    """Land ``observations`` of the world of ``shape`` under ``raw`` (in ``workers`` processes)."""
    raw.mkdir(parents=True, exist_ok=True)
    jobs = [(seed, shape, raw, chunk) for chunk in _chunks(observations, workers * 4)]
    if workers > 1 and len(jobs) > 1:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            results = list(pool.map(_write_chunk, jobs))
    else:
        results = [_write_chunk(job) for job in jobs]
    totals = [sum(r[i] for r in results) for i in range(4)]
    return RawSet(raw, *totals)


RAW_SETS = ("base", "inc1", "inc50")


def _raw_dir(root: Path, name: str) -> Path:
    """Where a tier's raw set ``name`` (one of ``RAW_SETS``) is, under the tier's folder."""
    return root / name / "raw"


def _raw_set_from(data: dict[str, Any], raw: Path) -> RawSet:
    """A cached raw set's sizes from the manifest, at ``raw``: where the tier's folder is now, not the path the
    manifest recorded (a cache copied or moved with its folder, e.g. from another clone, is still found)."""
    return RawSet(raw, data["objects"], data["items"], data["bytes_gz"], data["bytes_json"])


def generate_tier(tier: str, seed: int = 7, data_dir: Path = DATA_DIR, workers: int = 2) -> TierData:
    """Generate a tier (or reuse the cached one) and return where it is."""
    shape = TIERS[tier]
    root = data_dir / f"{tier}-seed{seed}"
    manifest = root / "manifest.json"
    world_name = f"{ChartWorld.__module__}.{ChartWorld.__name__}"
    if manifest.exists():
        data = json.loads(manifest.read_text())
        if data.get("version") == GENERATOR_VERSION and data.get("world") == world_name:
            base, inc1, inc50 = (_raw_set_from(data[name], _raw_dir(root, name)) for name in RAW_SETS)
            return TierData(tier, seed, root, base, inc1, inc50, data["generation_seconds"], world_name)
    if root.exists():
        shutil.rmtree(root)
    started = time.perf_counter()
    base_obs = base_observations(shape)
    inc1_obs, inc50_obs = increments(shape)
    base = write_raw_set(seed, shape, _raw_dir(root, "base"), base_obs, workers)
    inc1 = write_raw_set(seed, shape, _raw_dir(root, "inc1"), inc1_obs, 1)
    inc50 = write_raw_set(seed, shape, _raw_dir(root, "inc50"), inc50_obs, workers)
    seconds = time.perf_counter() - started
    result = TierData(tier, seed, root, base, inc1, inc50, seconds, world_name)
    payload = {"version": GENERATOR_VERSION, **_jsonable(asdict(result))}
    manifest.write_text(json.dumps(payload, indent=2, sort_keys=True))
    return result


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, Path):
        return str(value)
    return value


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Generate (or reuse) benchmark raw data per tier.")
    parser.add_argument("--tier", default="S", help="comma-separated tiers: S, M, L")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--data-dir", type=Path, default=DATA_DIR)
    args = parser.parse_args(argv)
    for tier in args.tier.split(","):
        data = generate_tier(tier.strip().upper(), args.seed, args.data_dir)
        print(
            f"{data.tier}: {data.base.objects} objects, {data.base.items} items, "
            f"{data.base.bytes_gz / 1e6:.1f} MB gz / {data.base.bytes_json / 1e6:.1f} MB json, "
            f"generated in {data.generation_seconds:.1f}s ({data.world}) at {data.root}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
