"""A local session's Python workers import pyspark from the venv, with none of Spark's archives on their path."""

from __future__ import annotations

import os
import sys
import sysconfig
import zipimport

import pytest
from pyspark.sql import SparkSession

from spotify_etl.sparkutil import PYTHON_DAEMON_MODULE


def _worker_imports(_: object) -> list[tuple[str, ...]]:
    """In a Python task: the path, the archives that importlib.invalidate_caches() re-reads, pyspark's file."""
    import pyspark

    zips = tuple(
        key for key, finder in sys.path_importer_cache.items() if isinstance(finder, zipimport.zipimporter)
    )
    return [tuple(sys.path), zips, (pyspark.__file__ or "",)]


_VENV_PYSPARK = os.path.realpath(os.path.join(sysconfig.get_paths()["purelib"], "pyspark"))


@pytest.mark.skipif(
    not os.path.isdir(_VENV_PYSPARK),
    reason="pyspark is not installed in this interpreter's site-packages (Glue's image)",
)
def test_python_tasks_run_without_the_archives_spark_puts_on_the_workers_path(spark: SparkSession) -> None:
    (path, zips, (pyspark_file,)) = spark.sparkContext.parallelize([0], 1).flatMap(_worker_imports).collect()
    package_dir = _VENV_PYSPARK
    # Spark put pyspark.zip, py4j's zip and spark-core's jar there; each task re-read them on Python 3.11
    assert [entry for entry in path if os.path.isfile(entry)] == []
    assert zips == ()
    assert os.path.realpath(pyspark_file) == os.path.join(package_dir, "__init__.py")
    # the venv's site-packages and the task's own files (addPyFile's folder) stay on the path
    assert sysconfig.get_paths()["purelib"] in path
    assert any("userFiles-" in entry for entry in path)
    assert spark.sparkContext.getConf().get("spark.python.daemon.module") == PYTHON_DAEMON_MODULE


def test_rows_from_the_driver_pass_through_python_tasks_unchanged(spark: SparkSession) -> None:
    # that the daemon still serves tasks, whichever daemon the session runs (the test above tells them apart)
    rows = [("a", 1, ["x", "y"]), ("é\u2028", -(2**40), [])]
    df = spark.createDataFrame(rows, "name string, n bigint, tags array<string>")
    assert [tuple(row) for row in df.collect()] == rows
    assert spark.sparkContext.parallelize(range(5), 2).map(lambda n: n * n).collect() == [0, 1, 4, 9, 16]
