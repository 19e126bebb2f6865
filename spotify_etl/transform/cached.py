"""A DataFrame persisted for one run, handed on as a DataFrame over its cache alone.

PySpark analyses the whole logical plan of every DataFrame it builds (each ``select``, ``where``, ``join``): the
analyzer's rules and checks walk every node and expression of the plan, including the part that is already
cached. The checked batch's plan is the parse and the validation, hundreds of expressions (``validate.py``),
and everything a run builds on the batch (the verdicts, the observations, the six tables, their merges, the
rejects) carried it through about a hundred analyses per run, though its rows come from the cache. Spark's own
cache lookup puts the cache in place of that plan only when a query is planned, after each analysis.

:func:`cached` builds the DataFrame over the cache's relation itself (Spark's ``InMemoryRelation``, a leaf):
the same rows read from the same cache by the same physical plan, and a lost cache block recomputed from the
cached plan as before. Spark's public way to cut a plan, a local checkpoint, keeps no lineage: a lost
executor would fail a Glue run. Measured in docs/performance.md ("The batch's plan cut at its cache").

Spark has no public call that makes a DataFrame of a logical plan; this uses ``Dataset.ofRows``, the internal call
behind every one of Spark's own ``Dataset`` operations (``org.apache.spark.sql.classic.Dataset`` since Spark 4.0). When
the running Spark has neither, or its cache lookup gives something else than the relation, the DataFrame is
handed on as it is: the run is the same, only slower to plan.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from py4j.java_gateway import JavaClass
from pyspark import StorageLevel
from pyspark.sql import DataFrame

from spotify_etl.transform.jvm_cache import jvm_class

IN_MEMORY_RELATION = "org.apache.spark.sql.execution.columnar.InMemoryRelation"
# Where ``Dataset.ofRows`` is, newest Spark first: 4.x moved the implementation to ``classic``.
DATASET_CLASSES = ("org.apache.spark.sql.classic.Dataset", "org.apache.spark.sql.Dataset")


@contextmanager
def cached(df: DataFrame, level: StorageLevel) -> Iterator[DataFrame]:
    """``df`` persisted at ``level`` while the block runs, as a DataFrame whose plan is the cache (module
    docstring); unpersisted when the block ends, however it ends."""
    df.persist(level)
    try:
        yield _over_cache(df)
    finally:
        df.unpersist()


def _over_cache(df: DataFrame) -> DataFrame:
    dataset = _dataset_class()
    if dataset is None:
        return df
    # A query of its own: ``df``'s own query may have looked the cache up before ``df`` was in it (once run).
    plan = df.select("*")._jdf.queryExecution().withCachedData()
    leaves = plan.collectLeaves()
    if leaves.size() != 1 or leaves.apply(0).getClass().getName() != IN_MEMORY_RELATION:
        return df
    return DataFrame(dataset.ofRows(df.sparkSession._jsparkSession, plan), df.sparkSession)


def _dataset_class() -> Any:
    """The JVM class holding ``Dataset.ofRows`` in this Spark, or None."""
    for name in DATASET_CLASSES:
        found = jvm_class(name)
        if isinstance(found, JavaClass):
            return found
    return None
