"""make bench's regression guard: which differences from the committed baseline fail, and which do not."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bench import guard, run


def _tier(
    full: float = 60.0,
    duckdb: float = 20.0,
    jobs: int = 17,
    tasks: int = 195,
    plus_1: float = 20.0,
    jvm: float = 5.0,
    nothing: float = 0.7,
    load: float = 1.0,
) -> dict[str, Any]:
    """A tier's results as bench/run.py writes them (only the parts the guard reads, plus a layout)."""

    def spark_run(seconds: float, n_jobs: int, n_tasks: int) -> dict[str, Any]:
        spark = {"jobs": n_jobs, "stages": n_jobs, "tasks": n_tasks, "shuffle_write_mb": 60.0}
        spark |= {"memory_bytes_spilled": 0, "disk_bytes_spilled": 0}
        return {"wall_seconds": seconds, "load_1m": load, "spark": spark, "peak_rss_mb": 2600}

    throughput = {"items_per_second": 1, "raw_mb_per_second_gz": 1, "raw_mb_per_second_json": 1}
    return {
        "tier": "M",
        "data": {"observations": 2000, "items": 200_000, "raw_mb_gz": 51.9, "raw_mb_json": 578.0},
        "jvm_start": {"wall_seconds": jvm, "load_1m": load},
        "full_cold": spark_run(full, jobs, tasks) | throughput,
        "duckdb": {"wall_seconds": duckdb, "load_1m": load},
        "spark_over_duckdb": round(full / duckdb, 2),
        "incremental": {
            "plus_1": spark_run(plus_1, jobs, 70),
            "plus_50": spark_run(plus_1 + 5, jobs, 90),
            "nothing_new": spark_run(nothing, 0, 0),
            "plus_1_alone_on_empty_lake": spark_run(plus_1, jobs, 70),
            "plus_1_ratio": 1.0,
            "nothing_new_minus_jvm_start": nothing - jvm,
        },
        "layout": [],
    }


def _verdicts(baseline: dict[str, Any], current: dict[str, Any]) -> dict[str, str]:
    found = guard.compare({"M": guard.figures_of(baseline)}, {"M": guard.figures_of(current)})
    return {v.figure: v.status for v in found}


def test_the_same_figures_pass_and_every_guarded_figure_is_compared() -> None:
    statuses = _verdicts(_tier(), _tier())

    assert statuses == {figure.name: "ok" for figure in guard.FIGURES}


def test_a_full_run_40_percent_slower_at_the_same_load_fails_on_seconds_and_ratio() -> None:
    statuses = _verdicts(_tier(full=60.0), _tier(full=84.0))

    assert statuses["full transform s"] == "REGRESSION"
    assert statuses["full transform / DuckDB"] == "REGRESSION"
    assert [v.figure for v in guard.regressions(_all(_tier(full=60.0), _tier(full=84.0)))] == [
        "full transform s",
        "full transform / DuckDB",
    ]


def test_up_to_20_percent_is_within_tolerance_and_better_is_reported() -> None:
    assert _verdicts(_tier(full=60.0), _tier(full=72.0))["full transform s"] == "ok"
    assert _verdicts(_tier(full=60.0), _tier(full=40.0))["full transform s"] == "better"


def test_slower_seconds_on_a_busier_machine_do_not_fail_when_the_ratio_holds() -> None:
    """Load slows the transform and DuckDB alike: the ratio holds, the seconds are reported, not failed."""
    statuses = _verdicts(_tier(full=60.0, duckdb=20.0, load=1.0), _tier(full=90.0, duckdb=30.0, load=4.0))

    assert statuses["full transform s"] == "slower under load"
    assert statuses["full transform / DuckDB"] == "ok"


def test_slower_seconds_on_a_slower_machine_do_not_fail_when_the_yardstick_slowed_as_much() -> None:
    """The 2026-12-06 case: the same code on a machine whose DuckDB yardstick took 37 % longer, at no higher
    load; the transform 24 % slower in seconds, its ratio to DuckDB better."""
    baseline, current = _tier(full=48.38, duckdb=11.89), _tier(full=60.2, duckdb=16.32)
    statuses = _verdicts(baseline, current)

    assert statuses["full transform s"] == "slower machine"
    assert statuses["DuckDB yardstick s"] == "slower machine"
    assert statuses["full transform / DuckDB"] == "ok"  # 4.07x -> 3.69x
    assert guard.regressions(_all(baseline, current)) == []


def test_a_rise_beyond_what_the_slower_machine_explains_still_fails() -> None:
    """The yardstick 30 % slower excuses up to 1.3 x 1.2 = 1.56 x the baseline's seconds, no more."""
    baseline = _tier(full=60.0, duckdb=20.0, plus_1=10.0)

    assert _verdicts(baseline, _tier(full=93.0, duckdb=26.0, plus_1=15.5))["+1 obs s"] == "slower machine"
    statuses = _verdicts(baseline, _tier(full=95.0, duckdb=26.0, plus_1=15.7))
    assert statuses["+1 obs s"] == "REGRESSION"
    assert statuses["full transform s"] == "REGRESSION"


def test_a_faster_machine_does_not_tighten_the_seconds_and_a_faster_yardstick_is_no_verdict() -> None:
    statuses = _verdicts(_tier(full=60.0, duckdb=20.0), _tier(full=70.0, duckdb=10.0))

    assert statuses["full transform s"] == "ok"
    assert statuses["DuckDB yardstick s"] == "ok"
    assert statuses["full transform / DuckDB"] == "REGRESSION"


def test_a_baseline_without_the_yardstick_gives_it_as_its_full_run_over_its_ratio() -> None:
    old_baseline = guard.figures_of(_tier(full=48.38, duckdb=11.89))
    del old_baseline["DuckDB yardstick s"]
    current = guard.figures_of(_tier(full=60.2, duckdb=16.32))

    assert guard.machine_slowdown(old_baseline, current) == pytest.approx(16.32 / 11.89)
    found = {v.figure: v for v in guard.compare({"M": old_baseline}, {"M": current})}
    assert found["full transform s"].status == "slower machine"
    assert (found["DuckDB yardstick s"].baseline, found["DuckDB yardstick s"].status) == (
        11.89,
        "slower machine",
    )
    assert guard.machine_slowdown({}, current) == 1.0


def test_a_ratio_regression_fails_even_on_a_busier_machine() -> None:
    statuses = _verdicts(_tier(full=60.0, duckdb=20.0, load=1.0), _tier(full=120.0, duckdb=30.0, load=4.0))

    assert statuses["full transform / DuckDB"] == "REGRESSION"


def test_more_spark_jobs_fail_whatever_the_load() -> None:
    statuses = _verdicts(_tier(jobs=17, load=1.0), _tier(jobs=21, load=9.0))

    assert statuses["full: Spark jobs"] == "REGRESSION"
    assert statuses["+1 obs: Spark jobs"] == "REGRESSION"


def test_a_small_figure_moving_by_less_than_a_second_is_noise() -> None:
    statuses = _verdicts(_tier(nothing=0.7), _tier(nothing=1.1))

    assert statuses["nothing new s"] == "ok"
    assert _verdicts(_tier(nothing=0.7), _tier(nothing=2.0))["nothing new s"] == "REGRESSION"


def test_only_figures_measured_on_both_sides_at_the_same_tier_are_compared() -> None:
    full_only = _tier()
    del full_only["incremental"]
    found = guard.compare(
        {"M": guard.figures_of(_tier()), "S": guard.figures_of(_tier(full=1.0))},
        {"M": guard.figures_of(full_only), "L": guard.figures_of(_tier(full=999.0))},
    )

    assert {v.tier for v in found} == {"M"}
    assert {v.figure for v in found} == {
        "full transform s",
        "full transform / DuckDB",
        "DuckDB yardstick s",
        "full: Spark jobs",
        "full: Spark stages",
        "full: Spark tasks",
        "full: shuffle MB",
    }


def _all(baseline: dict[str, Any], current: dict[str, Any]) -> list[guard.Verdict]:
    return guard.compare({"M": guard.figures_of(baseline)}, {"M": guard.figures_of(current)})


def _results(tier: dict[str, Any]) -> dict[str, Any]:
    return {"measured_at": "t", "machine": "m", "glue_version": "5.0", "spark": "3.5.4", "tiers": {"M": tier}}


def test_the_report_exits_1_on_a_regression_and_the_baseline_round_trips(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(run, "RESULTS_MD", tmp_path / "results.md")
    baseline = tmp_path / "baseline.json"

    assert run._report(_results(_tier(full=60.0)), ["M"], baseline, update=True) == 0
    assert json.loads(baseline.read_text())["5.0"]["M"]["figures"]["full transform s"] == {
        "value": 60.0,
        "load_1m": 1.0,
    }
    assert run._report(_results(_tier(full=66.0)), ["M"], baseline, update=False) == 0
    assert run._report(_results(_tier(full=90.0)), ["M"], baseline, update=False) == 1
    out = capsys.readouterr()
    assert "| M | full transform s | seconds | 60 | 90 | +50% | REGRESSION |" in out.out
    assert "REGRESSION at M: full transform s 60 -> 90 (+50%)" in out.err


def test_no_baseline_for_the_version_compares_nothing_and_passes(tmp_path: Path) -> None:
    baseline = tmp_path / "baseline.json"
    baseline.write_text(json.dumps({"6.0": {"M": {"figures": guard.figures_of(_tier(full=1.0))}}}))

    assert guard.load_baseline(baseline, "5.0") == {}
    assert guard.load_baseline(tmp_path / "absent.json", "5.0") == {}
