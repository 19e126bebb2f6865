"""The report: ``index.html`` with static charts (PNG) of the Athena analysis queries.

Every chart is drawn from the rows of one named query of ``sql/athena/queries`` (run locally by
:mod:`spotify_etl.aws_twin.athena`; the charts themselves: :mod:`spotify_etl.devtools.report_charts`) and nothing
else: the page shows, under each chart, the query's name, the question it answers and the rows behind it.
The page is self-contained (relative image paths, inline CSS, no scripts), so it opens offline from
``lake/report/index.html``. Every value from the data is HTML-escaped, and drawn as literal text.

How files are written (atomically, never a stale page that looks current): :mod:`spotify_etl.devtools.report_files`.

Each :class:`Chart` keeps its ``series``, the exact points it plots (label -> [(x, y)]), so tests can
assert what a chart shows without looking at pixels.
"""

from __future__ import annotations

import html
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from spotify_etl.aws_twin.athena import QueryError, QueryResult, load_queries, run_named_queries
from spotify_etl.aws_twin.crawler import CatalogError
from spotify_etl.devtools.report_charts import SPECS, ChartSpec, Series, draw_chart, is_empty
from spotify_etl.devtools.report_files import (
    INDEX,
    LAST_GOOD,
    remove_unreferenced_images,
    run_stamp,
    temporary_path,
    write_atomically,
)

MAX_TABLE_ROWS = 40
QUERY_NAMES: tuple[str, ...] = tuple(s.query_name for s in SPECS)
# Queries whose rows the report shows as tables, without a chart.
REPORT_TABLES: tuple[str, ...] = (
    "daily_chart_rank_change",
    "new_entries_and_dropouts",
    "longest_running_tracks",
    "release_recency",
    "data_quality_latest",  # the data quality section: the latest evaluation of quality/, failures first
)


class ReportError(RuntimeError):
    """The report could not be written; a failure page replaced ``index.html`` (the message says so)."""


@dataclass(frozen=True)
class Chart:
    """One chart of the report and the data behind it."""

    slug: str
    title: str
    query_name: str
    question: str
    image: str | None  # file name under the report folder; None when there was nothing to plot
    series: Series
    result: QueryResult
    note: str = ""


@dataclass
class Report:
    folder: Path
    index: Path
    charts: list[Chart] = field(default_factory=list)

    def chart(self, slug: str) -> Chart:
        return next(c for c in self.charts if c.slug == slug)


def _flat_series(series: Any) -> Series:
    """Nested series (rank chart: playlist -> track -> points) flattened to ``playlist / track`` labels."""
    flat: Series = {}
    for key, value in series.items():
        if isinstance(value, dict):
            for inner, points in value.items():
                flat[f"{key} / {inner}"] = points
        else:
            flat[key] = value
    return flat


def _cell(value: Any) -> str:
    if value is None:
        return '<span class="null">NULL</span>'
    if isinstance(value, float):
        return html.escape(f"{value:.4g}")
    if isinstance(value, list | tuple):
        return html.escape(", ".join(str(v) for v in value))
    return html.escape(str(value))


def _table(result: QueryResult) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in result.columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{_cell(v)}</td>" for v in row) + "</tr>"
        for row in result.rows[:MAX_TABLE_ROWS]
    )
    more = (
        f'<p class="more">first {MAX_TABLE_ROWS} of {len(result.rows)} rows</p>'
        if len(result.rows) > MAX_TABLE_ROWS
        else f'<p class="more">{len(result.rows)} rows</p>'
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{more}"


_CSS = """
body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 2rem auto; max-width: 1100px;
       color: #191414; padding: 0 1rem; }
h1 { margin-bottom: 0.2rem; } .sub { color: #555; margin-top: 0; }
section { border-top: 1px solid #ddd; padding-top: 1rem; margin-top: 2rem; }
h2 { margin-bottom: 0.2rem; } .question { color: #444; font-style: italic; margin-top: 0.2rem; }
code { background: #f3f3f3; padding: 0 0.3rem; border-radius: 3px; }
img { max-width: 100%; height: auto; display: block; margin: 0.5rem 0; }
details { margin-top: 0.5rem; } summary { cursor: pointer; color: #1a7f37; }
table { border-collapse: collapse; font-size: 0.8rem; margin-top: 0.5rem; }
th, td { border: 1px solid #ddd; padding: 2px 6px; text-align: left; } th { background: #f6f6f6; }
.null { color: #aaa; } .more { color: #777; font-size: 0.8rem; } .empty { color: #a33; }
nav a { margin-right: 1rem; }
"""


def _head(title: str) -> str:
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>"
    )


def _section(chart: Chart) -> str:
    picture = (
        f'<img src="{html.escape(chart.image)}" alt="{html.escape(chart.title)}">'
        if chart.image
        else f'<p class="empty">{html.escape(chart.note)}</p>'
    )
    return (
        f'<section id="{chart.slug}"><h2>{html.escape(chart.title)}</h2>'
        f'<p class="question">{html.escape(chart.question)}</p>'
        f"<p>query <code>{html.escape(chart.query_name)}</code> "
        f"(<code>sql/athena/queries/{html.escape(chart.query_name)}.sql</code>; locally: "
        f"<code>spotify-etl query --name {html.escape(chart.query_name)}</code>)</p>{picture}"
        f"<details><summary>data behind the chart</summary>{_table(chart.result)}</details></section>"
    )


def _page(
    report: Report,
    results: Mapping[str, QueryResult],
    questions: Mapping[str, str],
    subtitle: str,
    extra: Sequence[str],
) -> str:
    sections = [_section(chart) for chart in report.charts]
    for name in extra:
        sections.append(
            f'<section id="{html.escape(name)}"><h2><code>{html.escape(name)}</code></h2>'
            f'<p class="question">{html.escape(questions.get(name, ""))}</p>{_table(results[name])}</section>'
        )
    nav = " ".join(f'<a href="#{c.slug}">{html.escape(c.title.split(" (")[0])}</a>' for c in report.charts)
    generated = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return (
        _head("Spotify playlist lake: report")
        + f'<h1>Spotify playlist lake</h1><p class="sub">{html.escape(subtitle)} Generated {generated} from the '
        "Athena (Trino) queries of <code>sql/athena/queries</code>, run locally on "
        "<code>catalog.duckdb</code>.</p>"
        f"<nav>{nav}</nav>{''.join(sections)}</body></html>\n"
    )


def _draw(spec: Any, series: Any, out: Path, stamp: str) -> str:
    image = f"{spec.slug}-{stamp}.png"
    tmp = temporary_path(out, image)
    try:
        draw_chart(spec, series, tmp)
        os.replace(tmp, out / image)
    finally:
        tmp.unlink(missing_ok=True)
    return image


def build_report(
    results: Mapping[str, QueryResult],
    folder: str | Path,
    questions: Mapping[str, str] | None = None,
    *,
    subtitle: str = "",
    extra: Sequence[str] = (),
) -> Report:
    """Draw every chart from its query's result and write ``folder/index.html`` (and ``last-good.html``).

    Args:
        results: query name -> result; must hold every name of :data:`QUERY_NAMES`.
        folder: the report folder (created). The page is swapped in atomically; the charts of the page
            it replaces are deleted afterwards (report_files.py).
        questions: query name -> the question it answers (the SQL file's opening comment).
        subtitle: one line under the title (what the lake holds).
        extra: more query names whose tables are shown without a chart.

    Raises:
        KeyError: naming the query results that are missing.
    """
    missing = [name for name in (*QUERY_NAMES, *extra) if name not in results]
    if missing:
        raise KeyError(f"the report needs the results of {', '.join(missing)}")
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    questions = questions or {}
    report = Report(out, out / INDEX)
    stamp = run_stamp()
    report.charts.extend(_chart(spec, results[spec.query_name], questions, out, stamp) for spec in SPECS)
    page = _page(report, results, questions, subtitle, extra).encode("utf-8")
    write_atomically(out / LAST_GOOD, page)
    write_atomically(report.index, page)
    remove_unreferenced_images(out, (s.slug for s in SPECS), (c.image for c in report.charts if c.image))
    return report


def _chart(
    spec: ChartSpec, result: QueryResult, questions: Mapping[str, str], out: Path, stamp: str
) -> Chart:
    """One chart drawn from its query's result (no image when there is nothing to plot)."""
    series = spec.series(result)
    empty = is_empty(series)
    return Chart(
        spec.slug,
        spec.title,
        spec.query_name,
        questions.get(spec.query_name, ""),
        None if empty else _draw(spec, series, out, stamp),
        _flat_series(series),
        result,
        "nothing to plot yet (the query returned no rows for this chart)" if empty else "",
    )


def write_failure_page(folder: str | Path, error: str) -> Path:
    """Replace ``index.html`` with a page naming the failure and linking the last good report, if any."""
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    failed = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    previous = (
        f'<p>The last report that was written completely: <a href="{LAST_GOOD}">{LAST_GOOD}</a> '
        f"(its data is older than this failure).</p>"
        if (out / LAST_GOOD).is_file()
        else "<p>No complete report has been written yet.</p>"
    )
    page = (
        _head("Spotify playlist lake: report FAILED")
        + f'<h1>Report failed</h1><p class="empty">The report run of {failed} failed: '
        f"<code>{html.escape(error)}</code></p>{previous}"
        "<p>Fix the cause and run <code>spotify-etl report --lake DIR</code> again.</p></body></html>\n"
    )
    write_atomically(out / INDEX, page.encode("utf-8"))
    return out / INDEX


def publish_report(
    catalog_path: str | Path,
    folder: str | Path,
    *,
    subtitle: str = "",
    results: Mapping[str, QueryResult] | None = None,
) -> Report:
    """Run the report's queries (unless given), write the report; on failure write the failure page.

    Raises:
        ReportError: one line naming the failure and the failure page (the old report is not left looking current).
    """
    try:
        questions = {n: q.question for n, q in load_queries().items()}
        if results is None:
            results = run_named_queries(catalog_path, (*QUERY_NAMES, *REPORT_TABLES))
        return build_report(results, folder, questions, subtitle=subtitle, extra=REPORT_TABLES)
    except (QueryError, CatalogError, KeyError, OSError, ValueError, RuntimeError) as error:
        reason = " ".join(str(error).split()) or type(error).__name__
        page = write_failure_page(folder, reason)
        raise ReportError(f"report failed: {reason} (failure page: {page})") from error
