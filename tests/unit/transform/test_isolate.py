"""Bisection's cost is bounded: it finds the objects that fail alone, and gives up past MAX_UNWRITABLE of them
(a failure every object shares is not one object's data). The probe is the seam where staging would run."""

from __future__ import annotations

from collections.abc import Sequence

from spotify_etl.transform.isolate import MAX_UNWRITABLE, _bisect

SOURCES = [f"s3://lake/raw/{i:02d}.json.gz" for i in range(40)]


def _probe_failing_on(bad: set[str], probes: list[Sequence[str]]):  # type: ignore[no-untyped-def]
    def probe(subset: Sequence[str]) -> BaseException | None:
        probes.append(subset)
        hit = sorted(bad.intersection(subset))
        return RuntimeError(f"bad value in {hit[0]}") if hit else None

    return probe


def test_the_objects_that_fail_alone_are_found_with_their_own_error() -> None:
    probes: list[Sequence[str]] = []
    bad = {SOURCES[3], SOURCES[30]}

    found = _bisect(SOURCES, RuntimeError("whole batch"), _probe_failing_on(bad, probes))

    assert found == {
        SOURCES[3]: f"writing the curated tables failed on this object: bad value in {SOURCES[3]}",
        SOURCES[30]: f"writing the curated tables failed on this object: bad value in {SOURCES[30]}",
    }
    assert len(probes) <= 4 * 6  # two objects: about 2 probes per level of a 40-object tree


def test_when_every_object_fails_bisection_stops_past_the_cap_instead_of_probing_2n_minus_2_times() -> None:
    probes: list[Sequence[str]] = []

    found = _bisect(SOURCES, RuntimeError("whole batch"), _probe_failing_on(set(SOURCES), probes))

    assert len(found) == MAX_UNWRITABLE + 1  # the caller fails the run: not one object's data
    assert len(probes) < 2 * len(SOURCES) - 2
    assert len(probes) <= 2 * (MAX_UNWRITABLE + 1) + 6
