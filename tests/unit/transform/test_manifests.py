"""A lake written before manifests existed: the next run lists each partition folder into its manifest, once
(spotify_etl/transform/manifests.py, docs/design.md I5), so the catalog's symlink tables show every row the
folders held."""

from __future__ import annotations

import shutil
from pathlib import Path

from pyspark.sql import SparkSession

from spotify_etl.lake import MANIFEST_NAME
from spotify_etl.transform.manifests import COMPLETE_MARKER
from tests.unit.transform.test_swap_readers import _answers
from tests.unit.transform.test_writer import DAY1, DAY2, _land, _observation, _transform


def _manifests(lake: Path) -> dict[str, str]:
    symlinks = lake / "curated" / "symlinks"
    return {str(p.relative_to(symlinks)): p.read_text() for p in symlinks.glob(f"*/*/{MANIFEST_NAME}")}


def test_a_run_on_a_lake_without_manifests_lists_every_partition_once(
    spark: SparkSession, tmp_path: Path
) -> None:
    lake = tmp_path / "lake"
    _land(lake, [_observation("p1", DAY1, ["t1", "t2"]), _observation("p2", DAY2, ["t3"])])
    _transform(lake, spark)
    written_by_the_swap = _manifests(lake)
    answers = _answers(lake)
    shutil.rmtree(lake / "curated" / "symlinks")  # as a lake written before manifests
    assert all(rows == [] for name, rows in _answers(lake).items() if name.startswith("table "))

    summary = _transform(lake, spark)  # nothing new: the run only lists the folders

    assert summary.objects_read == 0
    assert _manifests(lake) == written_by_the_swap
    assert _answers(lake) == answers
    assert (lake / "curated" / "symlinks" / COMPLETE_MARKER).is_file()


def test_once_complete_a_lake_is_not_listed_again(spark: SparkSession, tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    _land(lake, [_observation("p1", DAY1, ["t1"])])
    _transform(lake, spark)
    assert not (lake / "curated" / "symlinks" / COMPLETE_MARKER).exists()  # its tables were new: no listing
    _transform(lake, spark)  # the first run that finds tables checks each partition and leaves the marker
    assert (lake / "curated" / "symlinks" / COMPLETE_MARKER).is_file()
    manifest = next((lake / "curated" / "symlinks" / "tracks").glob(f"*/{MANIFEST_NAME}"))
    manifest.unlink()  # after the marker, a missing manifest is the operator's to restore, not the run's

    _transform(lake, spark)

    assert not manifest.exists()
