"""The report's charts: each named query's rows -> the points it plots (``series``) -> a matplotlib figure.

Every chart is drawn from the rows of one named query of ``sql/athena/queries`` and nothing else. Text from
the data (track, artist, playlist names) is drawn as literal text: matplotlib's mathtext is switched off
(``text.parse_math``), so ``A$AP Rocky`` or ``$uicideboy$`` never reads as math, and a label that starts
with ``_`` (which matplotlib's legend would hide) is kept visible.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only; never a display
import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from spotify_etl.aws_twin.athena import QueryResult

Series = dict[str, list[tuple[Any, Any]]]
MAX_LINES = 5  # tracks per playlist in the rank chart (the query picks the current top 5)
MAX_BARS = 15


def _rows(result: QueryResult) -> list[dict[str, Any]]:
    return result.as_dicts()


def _group(rows: list[dict[str, Any]], kind: str) -> dict[str, list[dict[str, Any]]]:
    """Rows grouped by ``<kind>_id``, each group labelled by its ``<kind>_name`` (the latest name: the
    queries join the ``current_*`` views), or by the id when it has none; two ids sharing a name get the id
    after it. Grouping by name would show a renamed playlist as two, and two playlists of one name as one.
    """
    groups: dict[str, list[dict[str, Any]]] = {}
    names: dict[str, str] = {}
    for row in rows:
        key = str(row[f"{kind}_id"])
        groups.setdefault(key, []).append(row)
        names.setdefault(key, str(row[f"{kind}_name"] or key))
    shared = {n for n in names.values() if list(names.values()).count(n) > 1}
    return {(f"{names[k]} ({k})" if names[k] in shared else names[k]): g for k, g in groups.items()}


def legend_label(text: str) -> str:
    """A legend label shown as written: matplotlib hides labels starting with ``_`` (a zero-width space keeps it)."""
    return "\u200b" + text if text.startswith("_") else text


# ---------------------------------------------------------------- series: query rows -> plotted points


def rank_series(result: QueryResult) -> dict[str, Series]:
    """playlist -> track -> [(snapshot_date, rank)], both by id under their latest names (rank_over_time)."""
    out: dict[str, Series] = {}
    for playlist, rows in _group(_rows(result), "playlist").items():
        tracks = _group(rows, "track")
        out[playlist] = {
            k: sorted((r["snapshot_date"], r["chart_rank"]) for r in v) for k, v in tracks.items()
        }
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
        for p, rows in _group(_rows(result), "playlist").items()
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
        for p, rows in _group(_rows(result), "playlist").items()
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
            ax.plot(xs, [y for _, y in points], marker="o", linewidth=2, label=legend_label(label[:32]))
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
        ax.bar(xs, [values.get(d, 0) for d in dates], width=width, label=legend_label(label))
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
            label=legend_label(label),
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
class ChartSpec:
    slug: str
    title: str
    query_name: str
    series: Callable[[QueryResult], Any]
    draw: Callable[[Figure, Any], None]


SPECS: tuple[ChartSpec, ...] = (
    ChartSpec(
        "rank-over-time",
        "Rank over time of each playlist's current top 5",
        "rank_over_time",
        rank_series,
        _draw_rank,
    ),
    ChartSpec(
        "artist-share",
        "Artists by chart presence (share of chart entries crediting them)",
        "artist_chart_presence",
        artist_share_series,
        lambda fig, s: _draw_hbar(fig, s["entry share"], "share of all chart entries (%)"),
    ),
    ChartSpec(
        "new-entries",
        "New entries per day",
        "new_entries_per_day",
        new_entries_series,
        lambda fig, s: _draw_grouped_bars(fig, s, "new entries"),
    ),
    ChartSpec(
        "release-years",
        "Release years of the tracks charting now",
        "release_year_distribution",
        release_year_series,
        lambda fig, s: _draw_year_bars(fig, s["tracks"]),
    ),
    ChartSpec(
        "explicit-share",
        "Explicit share of each chart, day by day",
        "explicit_share_over_time",
        explicit_series,
        lambda fig, s: _draw_lines(fig, s, "explicit tracks (%)"),
    ),
    ChartSpec(
        "genre-share",
        "Genres of the charting tracks' (enriched) artists",
        "genre_share",
        genre_series,
        lambda fig, s: _draw_hbar(fig, s["share"], "share of enriched chart entries (%)"),
    ),
)
QUERY_NAMES: tuple[str, ...] = tuple(s.query_name for s in SPECS)


def is_empty(series: Any) -> bool:
    """True when a series (possibly nested) has no point to plot."""
    if isinstance(series, dict):
        return all(is_empty(v) for v in series.values()) if series else True
    return not series


def draw_chart(spec: ChartSpec, series: Any, path: Path) -> None:
    """Draw one chart and save it as PNG at ``path``, every text literal (see the module doc)."""
    # Names are data, never markup: no mathtext (nor TeX) for any text of the chart.
    # https://matplotlib.org/stable/users/explain/text/mathtext.html ("text.parse_math")
    with matplotlib.rc_context({"text.parse_math": False, "text.usetex": False}), warnings.catch_warnings():
        # an emoji or a script the font lacks is drawn as a box: not worth a warning per chart
        warnings.filterwarnings("ignore", message=r"Glyph \d+ .* missing from font", category=UserWarning)
        fig = plt.figure(layout="constrained")
        try:
            spec.draw(fig, series)
            fig.suptitle(spec.title, fontsize=12, x=0.01, ha="left")
            fig.savefig(path, dpi=110, format="png")
        finally:
            plt.close(fig)
