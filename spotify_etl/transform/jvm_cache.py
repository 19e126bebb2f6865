"""Column expressions, classes and names resolved once per JVM and reused by every run of the process.

Building a Column from Python costs one py4j round trip per function, field and lambda variable: the six
tables take several thousand, about a third of a small run's driver time (docs/performance.md, "Columns
built once, classes compiled once"). A Column is an unresolved expression tree held by the JVM and bound to no DataFrame, so one
built for a schema is valid in any DataFrame of that schema, in any thread; the analyzer resolves a copy of
it per plan. The cache is keyed by the py4j gateway, which lives as long as the process: a Column is never
handed to a JVM other than the one that holds it.

Names are resolved through py4j's JVM view: a simple name (``functions``) is tried against each package the
view imports, and each miss is a ``Class.forName`` that searches every jar on Spark's classpath (~10% of a
small run's JVM samples, docs/performance.md). :func:`jvm_class` looks a class up once, and
:func:`import_hot_names` gives the view the classes PySpark resolves on every call, so that it answers them without
a round trip.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Hashable
from typing import Any, ParamSpec, TypeVar

from py4j.java_gateway import java_import
from pyspark import SparkContext
from pyspark.sql import SparkSession

_P = ParamSpec("_P")
_T = TypeVar("_T")


def per_jvm(build: Callable[_P, _T]) -> Callable[_P, _T]:
    """``build(*args)`` built once per JVM and argument tuple (hashable arguments only), then reused.

    ``build`` must be a pure function of its arguments that returns Column expressions (or containers
    of them) whose meaning does not depend on anything else: no clock, no DataFrame. The arguments are a
    few constants (table names, class names, the record bound), so the cache holds a few dozen entries; a
    value that changes per run (the run's clock) is a column of the data instead (``validate._LATEST``)."""
    built: dict[tuple[int, tuple[Hashable, ...]], tuple[object, _T]] = {}
    lock = threading.RLock()  # a build may use another cached build

    @functools.wraps(build)
    def cached(*args: _P.args, **kwargs: _P.kwargs) -> _T:
        if kwargs:
            raise TypeError(f"{build.__name__} is cached by position; pass its arguments by position")
        gateway = SparkContext._gateway
        key = (id(gateway), args)
        with lock:
            entry = built.get(key)
            if entry is None or entry[0] is not gateway:
                entry = built[key] = (gateway, build(*args, **kwargs))
            return entry[1]

    return cached


@per_jvm
def jvm_class(fqn: str) -> Any:
    """The JVM class ``fqn`` (a py4j ``JavaClass``), looked up once per JVM: ``jvm.org.apache...`` costs a
    round trip per package step, each a failed class lookup across the classpath."""
    found: Any = SparkContext._jvm
    for part in fqn.split("."):
        found = getattr(found, part)
    return found


# The simple names PySpark resolves through the JVM view on every Column and DataFrame call (counted over a
# small run: ``functions`` ~400 times, ``PythonUtils`` ~150, ``Column`` ~30; ``SparkSession`` 12 times a gated
# run, for each active-session lookup): each is found only after misses in the packages imported before its own
# (``pyspark/java_gateway.py``'s imports, in order).
HOT_NAMES = ("functions", "PythonUtils", "Column", "SparkSession")


def import_hot_names(spark: SparkSession) -> None:
    """Import each hot name exactly, as the class the view resolves it to now (the same class afterwards, by
    construction), and keep that class on the view under the name and under its full name.

    py4j's view asks the JVM for every name it is given, each time: PySpark 3.5 asks for ``functions`` and
    ``PythonUtils`` on every Column call, PySpark 4 for ``org.apache.spark.sql.functions``. For a simple name the
    JVM first tries it as a full class name, a failed ``Class.forName`` across the whole classpath, even with the
    exact import (py4j's ``TypeUtil.getClass``). A class kept as an attribute of the view is found by Python
    before py4j's lookup is asked: no round trip. The import stays for anything that resolves names in the JVM."""
    view: Any = spark.sparkContext._jvm
    for name in HOT_NAMES:
        java_class = getattr(view, name)
        java_import(view, java_class._fqn)
        setattr(view, name, java_class)
        setattr(view, java_class._fqn, java_class)
