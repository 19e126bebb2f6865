"""Shared fixtures: one SparkSession for the whole test session, sized for a 2-core machine."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterator

import pytest
from pyspark.sql import SparkSession

os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The modules holding a ``slow`` test first, each module's tests kept together and in order.

    ``make test`` hands whole modules to its test processes (``--dist loadfile --no-loadscope-reorder``), in this
    order, one more to whichever process runs out of work first. With the long modules given out first, the
    short ones even out the end: in collection order, one process went on alone for the last 30 s of a run
    (docs/performance.md, "The test suite").
    """
    slow_modules = {_module_of(item) for item in items if item.get_closest_marker("slow")}
    items.sort(key=lambda item: _module_of(item) not in slow_modules)  # stable: the rest stays as collected


def _module_of(item: pytest.Item) -> str:
    return item.nodeid.split("::", 1)[0]


@pytest.fixture(scope="session")
def spark() -> Iterator[SparkSession]:
    from spotify_etl.sparkutil import local_spark_session

    # Tests read tiny data, but one test process runs hundreds of transforms in one JVM: the JIT's default
    # (C2 kept), not a small batch's C1-only start, which made each warm transform about 20% slower
    # (docs/performance.md, "The test suite").
    session = local_spark_session(app_name="spotify-etl-tests", shuffle_partitions=2)
    yield session
    session.stop()
    # py4j logs "Closing down clientserver connection" from __del__ at interpreter exit, after pytest has
    # closed the streams its handlers write to; that message is of no use to anyone.
    logging.getLogger("py4j").setLevel(logging.WARNING)


@pytest.fixture(scope="session", autouse=True)
def _quality_gate_rules() -> Iterator[None]:
    """The transform's quality gate runs without rules, except in tests that ask for ``quality_gate_on``.

    Most transform tests were written before the gate, with ids like ``p1`` and ``t1`` that the rules of
    ``quality/`` refuse (a Spotify id is 22 base62 characters): with the rules, every such object would be
    quarantined as ``quality`` and those tests would test nothing else. Session-scoped, so that module-scoped
    fixtures that run the transform see it too. The gate's own tests (tests/unit/transform/test_quality_gate.py,
    the Glue path in tests/unit/runtime/test_glue.py) and every run in a subprocess (``make run``, the e2e
    tests) use the real rules.
    """
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("spotify_etl.transform.job.load_gate_rules", dict)
        yield


@pytest.fixture(params=["small batch", "large batch"])
def either_batch_size(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """The test once as a small batch (its own size: interpreted projections, no whole-stage code generation or
    adaptive execution, ``transform/batch_tuning.py``) and once with every batch counted large (Glue's case)."""
    from spotify_etl.transform import batch_tuning

    if request.param == "large batch":
        monkeypatch.setattr(batch_tuning, "SMALL_BATCH_BYTES", -1)
    return str(request.param)


@pytest.fixture
def quality_gate_on(monkeypatch: pytest.MonkeyPatch) -> None:
    """Run the transform's quality gate with the rules of ``quality/`` (see ``_quality_gate_rules``)."""
    from spotify_etl.transform import quality_gate

    monkeypatch.setattr("spotify_etl.transform.job.load_gate_rules", quality_gate.load_gate_rules)
