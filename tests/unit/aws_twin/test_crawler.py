"""The local crawler follows AWS's documented crawler rules, read from the template (a broken template breaks it).

Pages relied on:
- table level, bucket = level 1: https://docs.aws.amazon.com/glue/latest/dg/crawler-table-level.html
- exclude globs: https://docs.aws.amazon.com/glue/latest/dg/crawler-data-stores.html#crawler-data-stores-exclude
- schema change policy (LOG never updates a table, new partitions are added):
  https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-glue-crawler-schemachangepolicy.html
- recrawl policy (incremental modes are for S3 sources): https://docs.aws.amazon.com/glue/latest/webapi/API_RecrawlPolicy.html
"""

from __future__ import annotations

import copy
import json
import shutil
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from pyspark.sql import SparkSession

from spotify_etl.aws_twin.crawler import _ROWS_PER_INSERT, CatalogError, crawl
from spotify_etl.aws_twin.crawler_spec import CrawlerSpecError, crawler_spec
from spotify_etl.cfn_template import DEFAULT_TEMPLATE, load_template
from spotify_etl.lake import LakeLayout, path_uri
from spotify_etl.quality.results import RESULTS_TABLE
from spotify_etl.transform.globs import GlobError, escape, matches
from spotify_etl.transform.glue_types import declared_columns
from spotify_etl.transform.registry import CURATED_TABLES
from tests.catalog_rows import catalog_rows
from tests.curated_lake import D1, D2, curated_lake_copy


@pytest.fixture(scope="module")
def lake(spark: SparkSession, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return curated_lake_copy(spark, tmp_path_factory.mktemp("rules_lake"))


@pytest.fixture()
def template() -> dict[str, Any]:
    return copy.deepcopy(load_template(DEFAULT_TEMPLATE))


def _crawler(template: dict[str, Any]) -> dict[str, Any]:
    return template["Resources"]["CuratedCrawler"]["Properties"]


def _as_s3_target_crawler(template: dict[str, Any], level: int | None) -> dict[str, Any]:
    props = _crawler(template)
    props["Targets"] = {"S3Targets": [{"Path": {"Fn::Sub": "s3://${DataBucket}/curated/"}}]}
    props["RecrawlPolicy"] = {"RecrawlBehavior": "CRAWL_NEW_FOLDERS_ONLY"}
    config: dict[str, Any] = {"Version": 1.0}
    if level is not None:
        config["Grouping"] = {"TableLevelConfiguration": level}
    props["Configuration"] = json.dumps(config)
    return template


def _fresh(lake: Path, tmp_path: Path) -> Path:
    """A lake whose catalog starts empty, sharing the curated files."""
    (tmp_path / "curated").symlink_to(lake / "curated")
    return tmp_path


# ---------------------------------------------------------------- catalog targets (the deployed design)


def test_the_templates_crawler_registers_the_declared_tables_and_adds_their_partitions(lake, tmp_path):
    result = crawl(
        _fresh(lake, tmp_path),
        LakeLayout.from_lake(tmp_path).catalog_file,
        crawler_spec(load_template(DEFAULT_TEMPLATE)),
    )

    assert sorted(result.tables) == sorted([*CURATED_TABLES, RESULTS_TABLE])
    assert result.partitions_added == {t: [D1, D2] for t in CURATED_TABLES}
    for table in CURATED_TABLES:
        columns = [(c.name, c.glue_type) for c in result.tables[table].columns]
        assert columns == [*declared_columns(table), ("snapshot_date", "string")], table


def test_a_table_of_more_partitions_than_one_insert_takes_registers_every_one(lake, tmp_path):
    # the catalog takes a table's partitions in statements of _ROWS_PER_INSERT rows: 1,201 make three
    shutil.copytree(lake / "curated", tmp_path / "curated", symlinks=True)
    manifests = tmp_path / "curated" / "symlinks" / "tracks"
    days = [f"{date(2020, 1, 1) + timedelta(days=n):%Y-%m-%d}" for n in range(2 * _ROWS_PER_INSERT + 201)]
    days.append("1999-12-31 o'clock")  # a folder name is a literal in the catalog's statements: quoted
    for day in days:
        shutil.copytree(manifests / f"snapshot_date={D1}", manifests / f"snapshot_date={day}")

    result = crawl(
        tmp_path, LakeLayout.from_lake(tmp_path).catalog_file, crawler_spec(load_template(DEFAULT_TEMPLATE))
    )

    assert result.partitions_added["tracks"] == sorted([*days, D1, D2])
    assert catalog_rows(
        tmp_path,
        "SELECT snapshot_date, location, file_count FROM lake_catalog.partitions WHERE table_name = 'tracks' "
        "ORDER BY snapshot_date",
    ) == sorted((day, path_uri(manifests / f"snapshot_date={day}"), 1) for day in [*days, D1, D2])


def test_a_wrong_declared_type_fails_the_crawl_naming_the_column(lake, tmp_path, template):
    columns = template["Resources"]["TracksTable"]["Properties"]["TableInput"]["StorageDescriptor"]["Columns"]
    next(c for c in columns if c["Name"] == "disc_number")["Type"] = "bigint"

    with pytest.raises(CatalogError, match=r"column disc_number is declared bigint .* files hold int"):
        crawl(_fresh(lake, tmp_path), LakeLayout.from_lake(tmp_path).catalog_file, crawler_spec(template))


def test_a_declared_column_the_files_lack_reads_as_null_like_athena(lake, tmp_path, template):
    columns = template["Resources"]["AlbumsTable"]["Properties"]["TableInput"]["StorageDescriptor"]["Columns"]
    columns.insert(1, {"Name": "label", "Type": "string"})

    crawl(_fresh(lake, tmp_path), LakeLayout.from_lake(tmp_path).catalog_file, crawler_spec(template))

    assert catalog_rows(tmp_path, "SELECT DISTINCT label, typeof(label) FROM albums") == [(None, "VARCHAR")]
    assert catalog_rows(
        tmp_path, "SELECT column_name FROM lake_catalog.columns WHERE table_name = 'albums' AND ordinal < 3"
    ) == [("album_id",), ("label",), ("album_name",)]


def test_a_declared_table_without_data_is_queryable_and_empty(tmp_path):
    (tmp_path / "curated").mkdir()
    result = crawl(
        tmp_path, LakeLayout.from_lake(tmp_path).catalog_file, crawler_spec(load_template(DEFAULT_TEMPLATE))
    )

    assert sorted(result.tables) == sorted([*CURATED_TABLES, RESULTS_TABLE])
    assert catalog_rows(tmp_path, "SELECT count(*), typeof(max(extracted_at)) FROM tracks") == [
        (0, "TIMESTAMP")
    ]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda p: p["SchemaChangePolicy"].update(DeleteBehavior="DEPRECATE_IN_DATABASE"),
            "not offered for catalog",
        ),
        (
            lambda p: p.update(RecrawlPolicy={"RecrawlBehavior": "CRAWL_NEW_FOLDERS_ONLY"}),
            "applies to Amazon S3",
        ),
        (lambda p: p["Targets"]["CatalogTargets"][0]["Tables"].append("charts"), "not an AWS::Glue::Table"),
        (lambda p: p.update(Configuration="{not json"), "Configuration is not JSON"),
    ],
)
def test_a_catalog_target_crawler_aws_would_not_run_is_refused(template, change, message):
    change(_crawler(template))

    with pytest.raises(CrawlerSpecError, match=message):
        crawler_spec(template)


# ---------------------------------------------------------------- S3 targets: the table level


def test_level_two_on_curated_makes_one_table_named_curated_whose_folders_are_a_partition(
    lake, tmp_path, template
):
    """The bug of the first template: the bucket is level 1, so level 2 is curated/ itself."""
    result = crawl(
        _fresh(lake, tmp_path),
        LakeLayout.from_lake(tmp_path).catalog_file,
        crawler_spec(_as_s3_target_crawler(template, 2)),
    )

    assert sorted(result.tables) == ["curated"]
    assert [c.name for c in result.tables["curated"].columns if c.is_partition_key] == [
        "partition_0",
        "snapshot_date",
    ]
    assert sorted(p.value for p in result.tables["curated"].partitions) == sorted(
        f"{t}/{d}" for t in CURATED_TABLES for d in (D1, D2)
    )


def test_level_three_on_curated_makes_one_table_per_folder(lake, tmp_path, template):
    result = crawl(
        _fresh(lake, tmp_path),
        LakeLayout.from_lake(tmp_path).catalog_file,
        crawler_spec(_as_s3_target_crawler(template, 3)),
    )

    assert sorted(result.tables) == sorted(CURATED_TABLES)
    assert [c.name for c in result.tables["tracks"].columns] == [
        *(n for n, _ in declared_columns("tracks")),
        "snapshot_date",
    ]


def test_an_s3_target_without_a_table_level_is_refused(template):
    with pytest.raises(CrawlerSpecError, match="set the level"):
        crawler_spec(_as_s3_target_crawler(template, None))


def test_exclusions_are_relative_to_the_include_path(lake, tmp_path, template):
    _as_s3_target_crawler(template, 3)
    _crawler(template)["Targets"]["S3Targets"][0]["Exclusions"] = [
        "tracks/**",
        "albums/snapshot_date=*-02/**",
    ]

    result = crawl(
        _fresh(lake, tmp_path), LakeLayout.from_lake(tmp_path).catalog_file, crawler_spec(template)
    )

    assert "tracks" not in result.tables
    assert [p.value for p in result.tables["albums"].partitions] == [D1]  # D2 ends in -02


# ---------------------------------------------------------------- the documented glob examples


@pytest.mark.parametrize(
    ("pattern", "key", "expected"),
    [
        ("*.csv", "data.csv", True),
        ("*.csv", "folder/data.csv", False),  # * does not cross a folder boundary
        ("*.*", "data.csv", True),
        ("*.{csv,avro}", "data.avro", True),
        ("foo.?", "foo.a", True),
        ("foo.?", "foo.ab", False),
        ("myfolder/*", "myfolder/mysource", True),
        ("myfolder/*", "myfolder/mysource/data", False),
        ("myfolder/*/*", "myfolder/mysource/data", True),
        ("myfolder/**", "myfolder/a/b/c", True),
        ("myfolder**", "myfolder", True),
        ("myfolder**", "myfolder/mydata.txt", True),
        ("[!a-c]x", "dx", True),
        ("[!a-c]x", "bx", False),
        (".hidden", ".hidden", True),  # a leading dot is an ordinary character
    ],
)
def test_glob_follows_the_documented_examples(pattern, key, expected):
    assert matches(pattern, key) is expected


@pytest.mark.parametrize(
    "name", ["a[1].json.gz", "{x,y}*?.json.gz", "back\\slash.json.gz", "sp ace %41 é.json.gz"]
)
def test_an_escaped_name_matches_itself_only(name):
    assert matches(escape(name), name)
    assert not matches(escape(name), name.replace(".json", "X.json"))


def test_a_nested_group_is_refused():
    with pytest.raises(GlobError, match="nests groups"):
        matches("{a,{b,c}}", "a")
