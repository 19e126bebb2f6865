"""Column expressions built once per JVM and reused by every run of the process.

Building a Column from Python costs one py4j round trip per function, field and lambda variable: the six
tables take several thousand, about a third of a small run's driver time (docs/performance.md, "Columns
built once"). A Column is an unresolved expression tree held by the JVM and bound to no DataFrame, so one
built for a schema is valid in any DataFrame of that schema, in any thread; the analyzer resolves a copy of
it per plan. The cache is keyed by the py4j gateway, which lives as long as the process: a Column is never
handed to a JVM other than the one that holds it.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Hashable
from typing import ParamSpec, TypeVar

from pyspark import SparkContext

_P = ParamSpec("_P")
_T = TypeVar("_T")


def per_jvm(build: Callable[_P, _T]) -> Callable[_P, _T]:
    """``build(*args)`` built once per JVM and argument tuple (hashable arguments only), then reused.

    ``build`` must be a pure function of its arguments that returns Column expressions (or containers
    of them) whose meaning does not depend on anything else: no clock, no DataFrame."""
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
