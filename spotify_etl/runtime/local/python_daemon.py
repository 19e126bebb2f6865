"""PySpark's Python worker daemon for local sessions, without Spark's archives on the workers' import path.

Spark starts its Python workers (``python -m pyspark.daemon``, which forks one per task slot) with the pyspark
and py4j zips and spark-core's jar first on their path (``PythonUtils.sparkPythonPath``). The venv's pyspark
package ships those zips inside itself (``pyspark/python/lib``) and holds the same modules unpacked; the jar
holds no Python. Each Python task calls ``importlib.invalidate_caches()`` (PySpark's worker, before it reads
the task), and on Python 3.10 and 3.11 that re-reads the central directory of every zip on the path: CPython
https://github.com/python/cpython/issues/103200, found by Spark's developers and fixed in 3.12 only. Glue 5.0's
Python 3.11 thus spent about 85 ms of CPU per Python task here re-reading 17 MB of archives, for tasks of a few
rows (the rows a test or the driver hands to ``createDataFrame``): about a tenth of the test suite's CPU
(docs/performance.md, "The test suite's Python workers and the local twins' per-call costs").

This module drops those archives (files under the venv's ``pyspark`` package) from the path, then runs PySpark's
own daemon as ``__main__``, with its arguments (Spark 4 names the worker module there); the workers it forks
inherit the path and import pyspark and py4j from the venv, as the driver does (on Glue 6.0 the venv's py4j is
0.10.9.7, the lock's, where Spark 4.1.1 bundles 0.10.9.9; the workers do not call the JVM through py4j, and the
driver has always run the lock's). Python files a job adds (``addPyFile``) are put on the path by each worker
later, as before. Set by ``sparkutil.local_spark_session`` when the workers run the driver's interpreter
(``spark.python.daemon.module``, https://issues.apache.org/jira/browse/SPARK-22959); Glue runs its own workers.
"""

from __future__ import annotations

import os
import runpy
import sys
import sysconfig


def _spark_archive(entry: str, package_dir: str) -> bool:
    """Whether a path entry is one of the archives Spark adds from the venv's pyspark package."""
    return os.path.isfile(entry) and os.path.realpath(entry).startswith(package_dir + os.sep)


def main() -> None:
    package_dir = os.path.realpath(os.path.join(sysconfig.get_paths()["purelib"], "pyspark"))
    archives = [entry for entry in sys.path if _spark_archive(entry, package_dir)]
    sys.path[:] = [entry for entry in sys.path if entry not in archives]
    # Importing this module made their importers, which invalidate_caches() would still reach.
    for entry in archives:
        sys.path_importer_cache.pop(entry, None)
    runpy.run_module("pyspark.daemon", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
