"""The report: static charts (matplotlib, PNG) of the Athena analysis queries, and an ``index.html``.

Every chart is drawn from the rows of one named query of ``sql/athena/queries`` (run locally by
:mod:`spotify_etl.local.athena`) and nothing else: the page shows, under each chart, the query's
name, the question it answers and the rows behind it. The page is self-contained (relative image
paths, inline CSS, no scripts), so it opens offline from ``lake/report/index.html``.

Each :class:`Chart` keeps its ``series``, the exact points it plots (label -> [(x, y)]), so tests can
assert what a chart shows without looking at pixels.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only; never a display
import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from spotify_etl.local.athena import QueryResult

Series = dict[str, list[tuple[Any, Any]]]
MAX_TABLE_ROWS = 40
MAX_LINES = 5  # tracks per playlist in the rank chart (the query picks the current top 5)
MAX_BARS = 15


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


def _rows(result: QueryResult) -> list[dict[str, Any]]:
    return result.as_dicts()


def _group(rows: list[dict[str, Any]], key: str) -> dict[str, list[dict[str, Any]]]:
    groups: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault(str(row[key]), []).append(row)
    return groups


# ---------------------------------------------------------------- series: query rows -> plotted points


def rank_series(result: QueryResult) -> dict[str, Series]:
    """playlist -> track -> [(snapshot_date, rank)] (rank_over_time)."""
    out: dict[str, Series] = {}
    for playlist, rows in _group(_rows(result), "playlist_name").items():
        tracks: Series = {}
        for row in rows:
            label = f"{row['track_name'] or row['track_id']}"
            tracks.setdefault(label, []).append((row["snapshot_date"], row["chart_rank"]))
        out[playlist] = {k: sorted(v) for k, v in tracks.items()}
    return out


def artist_share_series(result: QueryResult) -> Series:
    """artist -> [(artist, entry_share)] for the top artists (artist_chart_presence)."""
    rows = _rows(result)[:MAX_BARS]
    names = [r["artist_name"] or r["artist_id"] for r in rows]
    # two artists may share a name: a bar per artist, so the id tells them apart
    labels = [
        f"{n} ({r['artist_id']})" if names.count(n) > 1 else n for n, r in zip(names, rows, strict=True)
    ]
    return {"entry share": [(label, float(r["entry_share"])) for label, r in zip(labels, rows, strict=True)]}


def new_entries_series(result: QueryResult) -> Series:
    """playlist -> [(snapshot_date, new_entries)] (new_entries_per_day)."""
    return {
        p: [(r["snapshot_date"], int(r["new_entries"])) for r in rows]
        for p, rows in _group(_rows(result), "playlist_name").items()
    }


def release_year_series(result: QueryResult) -> Series:
    """tracks -> [(release_year, tracks)]; an unknown year is left out of the bars (release_year_distribution)."""
    return {
        "tracks": [
            (int(r["release_year"]), int(r["tracks"])) for r in _rows(result) if r["release_year"] is not None
        ]
    }


def explicit_series(result: QueryResult) -> Series:
    """playlist -> [(snapshot_date, explicit_share)], days with an unknown share left out (explicit_share_over_time)."""
    return {
        p: [(r["snapshot_date"], float(r["explicit_share"])) for r in rows if r["explicit_share"] is not None]
        for p, rows in _group(_rows(result), "playlist_name").items()
    }


def genre_series(result: QueryResult) -> Series:
    """share -> [(genre, share)] of the top genres (genre_share)."""
    return {"share": [(r["genre"], float(r["share"])) for r in _rows(result)[:MAX_BARS]]}


# ---------------------------------------------------------------- drawing


def _style(ax: Axes) -> None:
    ax.spines["top"].set_visible(False)
    ax.spines["right"].set_visible(False)
    ax.grid(axis="y", alpha=0.3)


def _draw_rank(fig: Figure, data: dict[str, Series]) -> None:
    playlists = sorted(data)
    axes = fig.subplots(len(playlists), 1, squeeze=False)
    dates = sorted({x for tracks in data.values() for points in tracks.values() for x, _ in points})
    for ax, playlist in zip(axes[:, 0], playlists, strict=True):
        index = {d: i for i, d in enumerate(dates)}
        for label, points in list(data[playlist].items())[:MAX_LINES]:
            xs = [index[x] for x, _ in points]
            ax.plot(xs, [y for _, y in points], marker="o", linewidth=2, label=label[:32])
        ax.set_title(playlist, loc="left", fontsize=11, fontweight="bold")
        ax.invert_yaxis()
        ax.set_ylabel("rank")
        ax.set_xticks(range(len(dates)), [d[5:] for d in dates])
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=8, frameon=False)
        _style(ax)
    fig.set_size_inches(10, 2.6 * len(playlists) + 0.6)


def _draw_hbar(fig: Figure, points: list[tuple[Any, Any]], xlabel: str, percent: bool = True) -> None:
    ax = fig.subplots()
    labels = [str(x)[:36] for x, _ in points][::-1]
    values = [y * 100 if percent else y for _, y in points][::-1]
    bars = ax.barh(labels, values, color="#1DB954")
    ax.bar_label(bars, fmt="%.1f%%" if percent else "%g", fontsize=8, padding=2)
    ax.set_xlabel(xlabel)
    _style(ax)
    ax.grid(axis="y", alpha=0)
    ax.grid(axis="x", alpha=0.3)
    fig.set_size_inches(10, 0.32 * len(points) + 1.2)


def _draw_grouped_bars(fig: Figure, data: Series, ylabel: str) -> None:
    ax = fig.subplots()
    dates = sorted({x for points in data.values() for x, _ in points})
    width = 0.8 / max(len(data), 1)
    for i, (label, points) in enumerate(sorted(data.items())):
        values = dict(points)
        xs = [j + i * width - 0.4 + width / 2 for j in range(len(dates))]
        ax.bar(xs, [values.get(d, 0) for d in dates], width=width, label=label)
    ax.set_xticks(range(len(dates)), [d[5:] for d in dates])
    ax.set_ylabel(ylabel)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.legend(fontsize=8, frameon=False)
    _style(ax)
    fig.set_size_inches(10, 3.6)


def _draw_lines(fig: Figure, data: Series, ylabel: str, percent: bool = True) -> None:
    ax = fig.subplots()
    dates = sorted({x for points in data.values() for x, _ in points})
    index = {d: i for i, d in enumerate(dates)}
    for label, points in sorted(data.items()):
        ax.plot(
            [index[x] for x, _ in points],
            [y * 100 if percent else y for _, y in points],
            marker="o",
            linewidth=2,
            label=label,
        )
    ax.set_xticks(range(len(dates)), [d[5:] for d in dates])
    ax.set_ylabel(ylabel)
    if percent:
        ax.set_ylim(0, 100)
    ax.legend(fontsize=8, frameon=False)
    _style(ax)
    fig.set_size_inches(10, 3.6)


def _draw_year_bars(fig: Figure, points: list[tuple[Any, Any]]) -> None:
    ax = fig.subplots()
    ax.bar([x for x, _ in points], [y for _, y in points], color="#1DB954", width=0.8)
    ax.set_xlabel("release year (album)")
    ax.set_ylabel("tracks")
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    _style(ax)
    fig.set_size_inches(10, 3.6)


# ---------------------------------------------------------------- the charts


@dataclass(frozen=True)
class _Spec:
    slug: str
    title: str
    query_name: str
    series: Callable[[QueryResult], Any]
    draw: Callable[[Figure, Any], None]


SPECS: tuple[_Spec, ...] = (
    _Spec(
        "rank-over-time",
        "Rank over time of each playlist's current top 5",
        "rank_over_time",
        rank_series,
        _draw_rank,
    ),
    _Spec(
        "artist-share",
        "Artists by chart presence (share of chart entries crediting them)",
        "artist_chart_presence",
        artist_share_series,
        lambda fig, s: _draw_hbar(fig, s["entry share"], "share of all chart entries (%)"),
    ),
    _Spec(
        "new-entries",
        "New entries per day",
        "new_entries_per_day",
        new_entries_series,
        lambda fig, s: _draw_grouped_bars(fig, s, "new entries"),
    ),
    _Spec(
        "release-years",
        "Release years of the tracks charting now",
        "release_year_distribution",
        release_year_series,
        lambda fig, s: _draw_year_bars(fig, s["tracks"]),
    ),
    _Spec(
        "explicit-share",
        "Explicit share of each chart, day by day",
        "explicit_share_over_time",
        explicit_series,
        lambda fig, s: _draw_lines(fig, s, "explicit tracks (%)"),
    ),
    _Spec(
        "genre-share",
        "Genres of the charting tracks' (enriched) artists",
        "genre_share",
        genre_series,
        lambda fig, s: _draw_hbar(fig, s["share"], "share of enriched chart entries (%)"),
    ),
)
QUERY_NAMES: tuple[str, ...] = tuple(s.query_name for s in SPECS)


def _is_empty(series: Any) -> bool:
    if isinstance(series, dict):
        return all(_is_empty(v) for v in series.values()) if series else True
    return not series


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


def build_report(
    results: Mapping[str, QueryResult],
    folder: str | Path,
    questions: Mapping[str, str] | None = None,
    *,
    subtitle: str = "",
    extra: Sequence[str] = (),
) -> Report:
    """Draw every chart from its query's result and write ``folder/index.html``.

    Args:
        results: query name -> result; must hold every name of :data:`QUERY_NAMES`.
        folder: the report folder (created; its charts are overwritten).
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
    report = Report(out, out / "index.html")
    for spec in SPECS:
        result = results[spec.query_name]
        series = spec.series(result)
        image: str | None = None
        note = ""
        if _is_empty(series):
            note = "nothing to plot yet (the query returned no rows for this chart)"
            (out / f"{spec.slug}.png").unlink(missing_ok=True)
        else:
            fig = plt.figure(layout="constrained")
            try:
                spec.draw(fig, series)
                fig.suptitle(spec.title, fontsize=12, x=0.01, ha="left")
                image = f"{spec.slug}.png"
                fig.savefig(out / image, dpi=110)
            finally:
                plt.close(fig)
        report.charts.append(
            Chart(
                spec.slug,
                spec.title,
                spec.query_name,
                questions.get(spec.query_name, ""),
                image,
                _flat_series(series),
                result,
                note,
            )
        )

    sections = []
    for chart in report.charts:
        picture = (
            f'<img src="{html.escape(chart.image)}" alt="{html.escape(chart.title)}">'
            if chart.image
            else f'<p class="empty">{html.escape(chart.note)}</p>'
        )
        sections.append(
            f'<section id="{chart.slug}"><h2>{html.escape(chart.title)}</h2>'
            f'<p class="question">{html.escape(chart.question)}</p>'
            f"<p>query <code>{html.escape(chart.query_name)}</code> "
            f"(<code>sql/athena/queries/{html.escape(chart.query_name)}.sql</code>; locally: "
            f"<code>spotify-etl query --name {html.escape(chart.query_name)}</code>)</p>{picture}"
            f"<details><summary>data behind the chart</summary>{_table(chart.result)}</details></section>"
        )
    for name in extra:
        sections.append(
            f'<section id="{html.escape(name)}"><h2><code>{html.escape(name)}</code></h2>'
            f'<p class="question">{html.escape(questions.get(name, ""))}</p>{_table(results[name])}</section>'
        )
    nav = " ".join(f'<a href="#{c.slug}">{html.escape(c.title.split(" (")[0])}</a>' for c in report.charts)
    generated = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    page = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>Spotify playlist lake: report</title><style>{_CSS}</style></head><body>"
        f'<h1>Spotify playlist lake</h1><p class="sub">{html.escape(subtitle)} Generated {generated} from the '
        "Athena (Trino) queries of <code>sql/athena/queries</code>, run locally on "
        "<code>catalog.duckdb</code>.</p>"
        f"<nav>{nav}</nav>{''.join(sections)}</body></html>\n"
    )
    report.index.write_text(page, encoding="utf-8")
    return report
