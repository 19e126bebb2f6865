"""Readers never see a half-written run (docs/design.md I5): the swap stopped after each of its steps.

A lake holds a first complete run (state A). A second run stages its output, then its swap is stopped after
step k, for every k (a step is one file operation of the swap: a move, a manifest replaced, a delete). After
each stop the crawler runs (it may run at any moment) and every view and named query of ``sql/athena/`` and
a plain ``SELECT *`` of each table are run through the Athena twin. The reference is built apart from the
writer: a lake whose every partition holds the files of that partition's last complete write (A's, or the
finished second run's for the partitions whose manifest the swap had replaced before step k), crawled and
queried the same way. The answers must be equal at every k.
"""

from __future__ import annotations

import dataclasses
import shutil
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any, ClassVar

import pytest
from pyspark.sql import SparkSession

from spotify_etl.aws_twin.athena import load_queries, load_views, open_session, run_sql
from spotify_etl.aws_twin.crawler import crawl_lake
from spotify_etl.lake import MANIFEST_NAME, local_path
from spotify_etl.transform import job
from spotify_etl.transform.registry import CURATED_TABLES
from spotify_etl.transform.storage import HadoopFileSystem
from tests.curated_lake import write_manifests
from tests.unit.transform.test_writer import DAY1, DAY2, _land, _observation, _transform

pytestmark = pytest.mark.slow  # a module of slower tests: scheduled first (tests/conftest.py)

FIRST_RUN = [_observation("p1", DAY1, ["t1", "t2"]), _observation("p2", DAY1, ["t3"])]
# supersedes p1's first day (t1 leaves it, t5 enters) and opens a new day
SECOND_RUN = [
    _observation("p1", DAY1 + timedelta(hours=1), ["t2", "t5"]),
    _observation("p1", DAY2, ["t2", "t3"]),
]


class KilledAt(Exception):
    """The writer's process dies here."""


class StopsAfter(HadoopFileSystem):
    """The real file system, killed before its ``limit``-th swap step; records the steps it took."""

    limit: ClassVar[int | None] = None
    steps: ClassVar[list[tuple[str, str]]] = []

    def _step(self, name: str, uri: str) -> None:
        if StopsAfter.limit is not None and len(StopsAfter.steps) >= StopsAfter.limit:
            raise KilledAt(f"killed after step {len(StopsAfter.steps)}")
        StopsAfter.steps.append((name, uri))

    def rename(self, source: str, target: str) -> None:
        self._step("move", target)
        super().rename(source, target)

    def replace_file(self, uri: str, data: bytes, scratch: str) -> None:
        self._step("switch", uri)
        super().replace_file(uri, data, scratch)

    def delete(self, uri: str, recursive: bool = False) -> None:
        if "/_staging/" not in uri:  # discarding the run's staging at the end is not a reader's concern
            self._step("delete", uri)
        super().delete(uri, recursive)


def _answers(lake: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every view, named query and plain table read of sql/athena, through the Athena twin."""
    crawl_lake(lake)
    sqls = {f"table {t}": f"SELECT * FROM {t}" for t in CURATED_TABLES}
    sqls |= {f"view {v.name}": f"SELECT * FROM {v.name}" for v in load_views()}
    sqls |= {f"query {name}": q.sql for name, q in load_queries().items()}
    con = open_session(lake / "catalog.duckdb")
    try:
        return {name: sorted(run_sql(con, sql, name).rows, key=repr) for name, sql in sqls.items()}
    finally:
        con.close()


def _listed(lake: Path, state: Path, table: str, partition: str) -> list[Path]:
    """The files of ``state`` (a copy of ``lake``) that one partition's manifest lists, or []."""
    manifest = state / "curated" / "symlinks" / table / f"snapshot_date={partition}" / MANIFEST_NAME
    if not manifest.exists():
        return []
    lines = [line for line in manifest.read_text().splitlines() if line]
    return [state / local_path(line).relative_to(lake) for line in lines]


def _reference(lake: Path, before: Path, after: Path, switched: set[str], out: Path) -> Path:
    """A lake whose partitions hold ``after``'s files where switched, else ``before``'s; manifests rewritten."""
    for table in CURATED_TABLES:
        for state in (before, after):
            for folder in (state / "curated" / table).glob("snapshot_date=*"):
                partition = folder.name.split("=", 1)[1]
                source = after if f"{table}/{folder.name}" in switched else before
                if source is not state:
                    continue
                target = out / "curated" / table / folder.name
                target.mkdir(parents=True, exist_ok=True)
                for file in _listed(lake, state, table, partition):
                    shutil.copy(file, target / file.name)
        write_manifests(out / "curated", table)
    return out


Staged = tuple[Path, Path, Callable[[int | None], None], dict[str, Any]]


@pytest.fixture(scope="module")
def staged_lake(spark: SparkSession, tmp_path_factory: pytest.TempPathFactory) -> Staged:
    """A lake after FIRST_RUN (copied to ``before``) with SECOND_RUN staged; a function that restores that
    staged state and runs the swap, stopped before the given step (None: to the end); the swap's arguments."""
    lake = tmp_path_factory.mktemp("lake")
    _land(lake, FIRST_RUN)
    _transform(lake, spark)
    before = tmp_path_factory.mktemp("before")
    shutil.copytree(lake, before, dirs_exist_ok=True)
    _land(lake, SECOND_RUN)
    captured: dict[str, Any] = {}

    def capture(*args: Any) -> None:
        captured["args"] = args
        raise KilledAt("stopped before the swap")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(job, "_swap", capture)
        with pytest.raises(KilledAt):
            _transform(lake, spark)
    staged = tmp_path_factory.mktemp("staged")
    shutil.copytree(lake, staged, dirs_exist_ok=True)
    swap = job._swap

    def swap_until(limit: int | None) -> None:
        shutil.rmtree(lake)
        shutil.copytree(staged, lake)
        writer, summary, curated, quarantine, record = captured["args"]
        StopsAfter.limit, StopsAfter.steps = limit, []
        swap(dataclasses.replace(writer, fs=StopsAfter(spark)), summary, curated, quarantine, record)

    return lake, before, swap_until, captured


def test_every_query_sees_each_partitions_last_complete_write_after_each_swap_step(
    staged_lake: Staged, tmp_path: Path
) -> None:
    lake, before, swap_until, _ = staged_lake
    swap_until(None)
    steps = list(StopsAfter.steps)
    after = tmp_path / "after"
    shutil.copytree(lake, after)
    switch_at = {
        "/".join(uri.split("/")[-4:-1][1:]): i for i, (name, uri) in enumerate(steps) if name == "switch"
    }
    assert len(switch_at) >= 2 * len(CURATED_TABLES)  # the second run rewrites one day and opens another
    assert [name for name, _ in steps].count("delete") >= len(CURATED_TABLES)  # and replaces old files
    references: dict[frozenset[str], dict[str, list[tuple[Any, ...]]]] = {}

    for k in range(len(steps) + 1):
        if k < len(steps):
            with pytest.raises(KilledAt):
                swap_until(k)
        else:
            swap_until(None)
        switched = frozenset(p for p, i in switch_at.items() if i < k)
        if switched not in references:
            out = _reference(lake, before, after, set(switched), tmp_path / f"reference-{len(references)}")
            references[switched] = _answers(out)
        got = _answers(lake)
        assert got == references[switched], f"after step {k} ({steps[k - 1] if k else 'none'})"
        manifests = {p.name for p in (lake / "curated" / "symlinks").glob("*/*/*") if p.is_file()}
        assert manifests == {MANIFEST_NAME}  # a partition location never holds anything but its manifest

    assert references[frozenset()] != references[frozenset(switch_at)]  # the second run changed answers


def test_the_merge_reads_back_what_the_manifest_lists_not_a_dead_runs_files(staged_lake: Staged) -> None:
    lake, before, swap_until, captured = staged_lake
    with pytest.raises(KilledAt):
        swap_until(
            2
        )  # the record moved in, then the first partition's new file is moved in; its manifest still lists the old one
    writer, _, curated, _, _ = captured["args"]
    target = curated[0].target
    partition = f"{DAY1:%Y-%m-%d}"
    folder = lake / "curated" / target.name / f"snapshot_date={partition}"
    old = [lake / p.relative_to(before) for p in _listed(lake, before, target.name, partition)]

    read_back = [local_path(uri) for uri in writer.current_files(target, partition)]

    assert len(list(folder.glob("*.parquet"))) == 2  # the dead run's file sits next to the old one
    assert read_back == old
