"""The results of ``make bench`` as markdown: one table per kind of run, one row per tier."""

from __future__ import annotations

from typing import Any

MB = 1_000_000


def _fmt_ratio(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}x"


def markdown(results: dict[str, Any]) -> str:
    """The results as markdown tables (one row per tier)."""
    tiers = [results["tiers"][t] for t in sorted(results["tiers"], key="SML".index)]
    lines = [
        *_full_rows(results, tiers),
        *_incremental_rows(tiers),
        *_layout_rows(tiers),
        *_crosscheck_rows(tiers),
    ]
    return "\n".join(lines) + "\n"


def _full_rows(results: dict[str, Any], tiers: list[dict[str, Any]]) -> list[str]:
    lines = [
        f"Measured {results['measured_at']} on {results['machine']}, Glue {results.get('glue_version', '5.0')} "
        f"(Spark {results.get('spark', '3.5.4')}).",
        "",
        "### Full transform (JVM start included unless noted)",
        "",
        "| tier | obs x items | raw MB gz / json | Spark cold s | Spark warm s | items/s cold | items/s warm "
        "| MB/s gz / json | peak RSS MB | jobs / stages / tasks | spill MB | DuckDB s | Spark/DuckDB | load |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in tiers:
        d, f, w, k = r["data"], r["full_cold"], r.get("full_warm") or {}, r["full_cold"]["spark"]
        spill = (k["memory_bytes_spilled"] + k["disk_bytes_spilled"]) / MB
        lines.append(
            f"| {r['tier']} | {d['observations']} x {d['items'] // max(d['observations'], 1)} "
            f"| {d['raw_mb_gz']} / {d['raw_mb_json']} | {f['wall_seconds']} | {w.get('wall_seconds', '-')} "
            f"| {f['items_per_second']} | {w.get('items_per_second', '-')} "
            f"| {f['raw_mb_per_second_gz']} / {f['raw_mb_per_second_json']} | {f['peak_rss_mb']} "
            f"| {k['jobs']} / {k['stages']} / {k['tasks']} | {spill:.0f} | {r['duckdb']['wall_seconds']} "
            f"| {_fmt_ratio(r['spark_over_duckdb'])} | {f['load_1m']} / {r['duckdb']['load_1m']} |"
        )
    return lines


def section(title: str, columns: list[str]) -> list[str]:
    """A markdown section's heading and the head of its table."""
    return ["", f"### {title}", "", "| " + " | ".join(columns) + " |", "|---" * len(columns) + "|"]


def _incremental_rows(tiers: list[dict[str, Any]]) -> list[str]:
    lines = section(
        "Incremental runs (fresh process each, JVM start included)",
        [
            "tier",
            "JVM start s",
            "+1 obs s",
            "+1 alone on empty lake s",
            "ratio (target <= 1.1x)",
            "+50 obs s",
            "nothing new s",
            "nothing new - JVM s (target < 10)",
            "load",
        ],
    )
    for r in tiers:
        if "incremental" not in r:
            lines.append(
                f"| {r['tier']} | {r['jvm_start']['wall_seconds']} | not measured (--full-only) |||||||"
            )
            continue
        i = r["incremental"]
        lines.append(
            f"| {r['tier']} | {r['jvm_start']['wall_seconds']} | {i['plus_1']['wall_seconds']} "
            f"| {i['plus_1_alone_on_empty_lake']['wall_seconds']} | {_fmt_ratio(i['plus_1_ratio'])} "
            f"| {i['plus_50']['wall_seconds']} | {i['nothing_new']['wall_seconds']} "
            f"| {i['nothing_new_minus_jvm_start']} "
            f"| {i['plus_1']['load_1m']} / {i['plus_1_alone_on_empty_lake']['load_1m']} |"
        )
    return lines


def _layout_rows(tiers: list[dict[str, Any]]) -> list[str]:
    lines = section(
        "Output layout after all runs (I4: one file per partition under 128 MB)",
        [
            "tier",
            "table",
            "partitions",
            "files",
            "max files/partition",
            "flagged",
            "file KB min / median / max",
        ],
    )
    for r in tiers:
        for t in r["layout"]:
            lines.append(
                f"| {r['tier']} | {t['table']} | {t['partitions']} | {t['files']} | {t['max_files_per_partition']} "
                f"| {len(t['flagged_partitions']) or '-'} | {t['file_bytes_min'] // 1000} / "
                f"{t['file_bytes_median'] // 1000} / {t['file_bytes_max'] // 1000} |"
            )
    return lines


def _crosscheck_rows(tiers: list[dict[str, Any]]) -> list[str]:
    lines: list[str] = []
    crosschecks: list[tuple[str, dict[str, Any]]] = [
        (r["tier"], r["crosscheck"]) for r in tiers if r.get("crosscheck")
    ]
    if crosschecks:
        lines += ["", "### Cross-check: rows that differ between the transform and the DuckDB yardstick", ""]
        for tier, check in crosschecks:
            diffs = ", ".join(f"{t} {v['only_spark']}/{v['only_duckdb']}" for t, v in check.items())
            lines.append(f"- {tier}: (only in Spark / only in DuckDB) {diffs}")
    return lines
