"""The report is drawn from the analysis queries' results: the data behind each chart, the page, the files."""

from __future__ import annotations

import html
from pathlib import Path

import pytest
from pyspark.sql import SparkSession

from spotify_etl.local.athena import QueryResult, load_queries, run_named_queries
from spotify_etl.local.catalog import catalog_path_for, crawl_lake
from spotify_etl.local.report import QUERY_NAMES, build_report
from tests.curated_lake import D1, D2, curated_lake_copy

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def results(spark: SparkSession, tmp_path_factory: pytest.TempPathFactory) -> dict[str, QueryResult]:
    lake = curated_lake_copy(spark, tmp_path_factory.mktemp("report_lake"))
    crawl_lake(lake)
    return run_named_queries(catalog_path_for(lake))


def test_each_chart_plots_its_query_rows(results: dict[str, QueryResult], tmp_path: Path) -> None:
    questions = {n: q.question for n, q in load_queries().items()}

    report = build_report(results, tmp_path / "report", questions)

    assert {c.slug: (c.query_name, c.series) for c in report.charts} == {
        "rank-over-time": (
            "rank_over_time",
            {
                "Top A / One": [(D1, 1), (D2, 2)],
                "Top A / Two": [(D1, 2), (D2, 1)],
                "Top A / Four": [(D2, 3)],
                "Top B / One": [(D2, 1)],
                "Top B / Five": [(D2, 2)],
            },
        ),
        "artist-share": (
            "artist_chart_presence",
            {"entry share": [("Artist 1", 0.625), ("Artist Two", 0.375), ("Artist Three", 0.25)]},
        ),
        "new-entries": ("new_entries_per_day", {"Top A": [(D2, 1)]}),
        "release-years": ("release_year_distribution", {"tracks": [(2025, 2), (2026, 2)]}),
        "explicit-share": (
            "explicit_share_over_time",
            {"Top A": [(D1, 0.3333), (D2, 0.6667)], "Top B": [(D2, 1.0)]},
        ),
        "genre-share": ("genre_share", {"share": [("dance", 1.0), ("pop", 1.0)]}),
    }
    for chart in report.charts:
        assert chart.result is results[chart.query_name]
        assert chart.question == questions[chart.query_name]
        assert chart.image == f"{chart.slug}.png"
        assert (tmp_path / "report" / chart.image).read_bytes()[:8] == PNG_MAGIC


def test_the_page_names_each_query_and_shows_the_rows_behind_each_chart(
    results: dict[str, QueryResult], tmp_path: Path
) -> None:
    report = build_report(results, tmp_path, extra=("daily_chart_rank_change",))
    page = report.index.read_text(encoding="utf-8")

    for chart in report.charts:
        assert f'<img src="{chart.image}"' in page
        assert f"spotify-etl query --name {chart.query_name}" in page
        for row in chart.result.rows:
            assert "<tr>" + "".join(f"<td>{_cell(v)}</td>" for v in row) + "</tr>" in page
    assert '<section id="daily_chart_rank_change">' in page
    assert "<td>first snapshot</td>" in page
    assert "http" not in page.replace("http-equiv", "")  # viewable offline: nothing fetched


def _cell(value: object) -> str:
    if value is None:
        return '<span class="null">NULL</span>'
    if isinstance(value, float):
        return html.escape(f"{value:.4g}")
    return html.escape(str(value))


def test_a_chart_without_rows_says_so_instead_of_drawing(
    results: dict[str, QueryResult], tmp_path: Path
) -> None:
    empty = dict(results)
    empty["genre_share"] = QueryResult("genre_share", results["genre_share"].columns, ())
    (tmp_path / "genre-share.png").write_bytes(PNG_MAGIC)  # a stale chart from an earlier run

    report = build_report(empty, tmp_path)

    chart = report.chart("genre-share")
    assert (chart.image, chart.series) == (None, {"share": []})
    assert not (tmp_path / "genre-share.png").exists()
    assert "nothing to plot yet" in report.index.read_text(encoding="utf-8")


def test_artists_sharing_a_name_get_a_bar_each(tmp_path: Path) -> None:
    columns = ("artist_id", "artist_name", "chart_entries", "tracks", "playlists", "entry_share")
    artists = QueryResult(
        "artist_chart_presence",
        columns,
        (("id1", "Twin", 2, 1, 1, 0.5), ("id2", "Twin", 1, 1, 1, 0.25), ("id3", None, 1, 1, 1, 0.25)),
    )

    chart = build_report({**_empty_results(), "artist_chart_presence": artists}, tmp_path).chart(
        "artist-share"
    )

    assert chart.series == {"entry share": [("Twin (id1)", 0.5), ("Twin (id2)", 0.25), ("id3", 0.25)]}
    assert chart.image == "artist-share.png"


def _empty_results() -> dict[str, QueryResult]:
    return {name: QueryResult(name, (), ()) for name in QUERY_NAMES}


def test_missing_query_results_are_named(tmp_path: Path) -> None:
    with pytest.raises(KeyError, match="the report needs the results of " + ", ".join(QUERY_NAMES)):
        build_report({}, tmp_path)
