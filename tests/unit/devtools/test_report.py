"""The report is drawn from the analysis queries' results: the data behind each chart, the page, the files."""

from __future__ import annotations

import html
import io
import re
from pathlib import Path

import pytest
from pyspark.sql import SparkSession

from spotify_etl.aws_twin.athena import QueryResult, load_queries, run_named_queries
from spotify_etl.aws_twin.crawler import crawl_lake
from spotify_etl.devtools.report import QUERY_NAMES, ReportError, build_report, publish_report
from spotify_etl.lake import LakeLayout
from spotify_etl.simulator.wild import WILD_ARTIST_NAMES
from tests.curated_lake import D1, D2, curated_lake_copy

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def results(spark: SparkSession, tmp_path_factory: pytest.TempPathFactory) -> dict[str, QueryResult]:
    lake = curated_lake_copy(spark, tmp_path_factory.mktemp("report_lake"))
    crawl_lake(lake)
    return run_named_queries(LakeLayout.from_lake(lake).catalog_file)


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
        assert chart.image is not None and re.fullmatch(
            rf"{chart.slug}-\d{{8}}T\d{{6}}Z-[0-9a-f]{{4}}\.png", chart.image
        )
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
    assert chart.image is not None and chart.image.startswith("artist-share-")


def _empty_results() -> dict[str, QueryResult]:
    return {name: QueryResult(name, (), ()) for name in QUERY_NAMES}


def test_missing_query_results_are_named(tmp_path: Path) -> None:
    with pytest.raises(KeyError, match="the report needs the results of " + ", ".join(QUERY_NAMES)):
        build_report({}, tmp_path)


# Real names that matplotlib would read as math ("$ka$h_money$$" made `spotify-etl report` exit 1), markup,
# right-to-left text and emoji: the wild world's artists.
AWKWARD_NAMES = WILD_ARTIST_NAMES


def _artist_presence(names: tuple[str, ...]) -> QueryResult:
    columns = ("artist_id", "artist_name", "chart_entries", "tracks", "playlists", "entry_share")
    rows = tuple((f"id{i}", name, 1, 1, 1, round(0.9 - i / 10, 2)) for i, name in enumerate(names))
    return QueryResult("artist_chart_presence", columns, rows)


def _rank_rows(names: tuple[str, ...]) -> QueryResult:
    columns = ("playlist_id", "playlist_name", "snapshot_date", "chart_rank", "track_id", "track_name")
    rows = tuple(("p1", "$$ Playlist <b>", D1, i + 1, f"t{i}", name) for i, name in enumerate(names[:5]))
    return QueryResult("rank_over_time", columns, rows)


def test_charts_group_playlists_by_id_under_their_latest_name(tmp_path: Path) -> None:
    columns = (
        "snapshot_date",
        "playlist_id",
        "playlist_name",
        "chart_tracks",
        "explicit_tracks",
        "explicit_share",
    )
    # the query gives every row of a playlist its latest name; two playlists share the name "Hits"
    shares = QueryResult(
        "explicit_share_over_time",
        columns,
        (
            (D1, "p1", "Hits", 2, 1, 0.5),
            (D2, "p1", "Hits", 2, 2, 1.0),
            (D2, "p2", "Hits", 1, 0, 0.0),
            (D2, "p3", None, 1, 1, 1.0),
        ),
    )

    chart = build_report({**_empty_results(), "explicit_share_over_time": shares}, tmp_path).chart(
        "explicit-share"
    )

    assert chart.series == {
        "Hits (p1)": [(D1, 0.5), (D2, 1.0)],
        "Hits (p2)": [(D2, 0.0)],
        "p3": [(D2, 1.0)],
    }


def test_names_matplotlib_reads_as_math_are_refused_by_default() -> None:
    import matplotlib.pyplot as plt

    fig = plt.figure()
    fig.subplots().set_title("$ka$h_money$$")
    try:
        with pytest.raises(ValueError, match="Expected end of text"):
            fig.savefig(io.BytesIO(), format="png")
    finally:
        plt.close(fig)


def test_every_name_renders_as_text_and_stays_escaped_in_the_page(tmp_path: Path) -> None:
    results = {
        **_empty_results(),
        "artist_chart_presence": _artist_presence(AWKWARD_NAMES),
        "rank_over_time": _rank_rows(AWKWARD_NAMES),
    }

    report = build_report(results, tmp_path)

    page = report.index.read_text(encoding="utf-8")
    assert [x for x, _ in report.chart("artist-share").series["entry share"]] == list(AWKWARD_NAMES)
    assert list(report.chart("rank-over-time").series) == [
        f"$$ Playlist <b> / {n}" for n in AWKWARD_NAMES[:5]
    ]
    for chart in (report.chart("artist-share"), report.chart("rank-over-time")):
        assert chart.image is not None
        assert (tmp_path / chart.image).read_bytes()[:8] == PNG_MAGIC
    for name in AWKWARD_NAMES:
        assert f"<td>{html.escape(name)}</td>" in page
    assert "<script>" not in page and "<b>" not in page


def test_a_failed_report_replaces_the_page_with_a_failure_linking_the_last_good_one(
    results: dict[str, QueryResult], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from spotify_etl.cli import main

    lake = tmp_path / "lake"
    good = build_report(results, lake / "report", extra=())
    good_page = good.index.read_text(encoding="utf-8")

    code = main(["report", "--lake", str(lake)])  # this lake has no catalog: the queries cannot run

    err = capsys.readouterr().err
    page = good.index.read_text(encoding="utf-8")
    assert code == 1
    assert err.count("\n") == 1
    assert err.startswith(f"spotify-etl report: report failed: no catalog at {lake / 'catalog.duckdb'}")
    assert "Report failed" in page and f"no catalog at {lake / 'catalog.duckdb'}" in page
    assert '<a href="last-good.html">last-good.html</a>' in page
    assert (lake / "report" / "last-good.html").read_text(encoding="utf-8") == good_page
    for chart in good.charts:  # the last good page still shows its charts
        assert chart.image is not None and (lake / "report" / chart.image).is_file()


def test_a_failure_before_any_good_report_says_so(tmp_path: Path) -> None:
    with pytest.raises(
        ReportError, match=r"^report failed: no catalog at .* \(failure page: .*index.html\)$"
    ):
        publish_report(tmp_path / "catalog.duckdb", tmp_path / "report")

    page = (tmp_path / "report" / "index.html").read_text(encoding="utf-8")
    assert "No complete report has been written yet." in page
    assert not (tmp_path / "report" / "last-good.html").exists()


def test_a_new_report_replaces_the_old_charts_only_after_its_page_is_in_place(
    results: dict[str, QueryResult], tmp_path: Path
) -> None:
    first = build_report(results, tmp_path)
    second = build_report(results, tmp_path)

    first_images = {c.image for c in first.charts}
    second_images = {c.image for c in second.charts}
    on_disk = {p.name for p in tmp_path.iterdir()}
    assert first_images.isdisjoint(second_images)
    assert on_disk == {*second_images, "index.html", "last-good.html"}
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary file left
