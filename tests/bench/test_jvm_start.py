"""make bench's JVM start figure: the median of several fresh starts, each one recorded."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import pytest

from bench import run
from bench.measure import ProcessRun


def test_the_jvm_start_is_the_median_of_its_starts(monkeypatch: pytest.MonkeyPatch) -> None:
    walls: Iterator[tuple[float, float]] = iter([(5.01, 2.5), (2.02, 0.5), (3.03, 1.5)])  # (wall, load)
    argvs: list[Sequence[str]] = []

    def measured(argv: Sequence[str], env: dict[str, str] | None = None) -> ProcessRun:
        wall, load = next(walls)
        argvs.append(argv)
        return ProcessRun(list(argv), 0, wall, 0, "", "", (load, load, load), cpu_seconds=wall * 2)

    monkeypatch.setattr(run, "run_measured", measured)

    assert run._jvm_start() == {
        "wall_seconds": 3.03,
        "cpu_seconds": 6.1,
        "load_1m": 1.5,
        "starts": [2.02, 3.03, 5.01],
    }
    assert len(argvs) == run.JVM_STARTS == 3
    assert all("local_spark_session" in argv[-1] for argv in argvs)  # a session started in each, not a no-op
