"""Every list of the curated tables agrees with the registry (spotify_etl/transform/registry.py).

The registry is the one place a table is declared; these tests fail when a derived or hand-kept list (the
template's tables and crawler targets, the local crawler, the yardstick's SQL) names a table it does not,
misses one, or disagrees on a table's columns, key or merge policy.
"""

from __future__ import annotations

import pytest

from bench import duckdb_baseline
from infra.scripts import catalog_tables
from infra.scripts.cfn import SOURCE_TEMPLATE
from spotify_etl.aws_twin.crawler_spec import crawler_spec
from spotify_etl.cfn_template import load_template, resources_of_type
from spotify_etl.quality.results import RESULTS_TABLE
from spotify_etl.transform import registry, tables
from spotify_etl.transform.glue_types import PARTITION_KEY, declared_columns, glue_type_of
from spotify_etl.transform.registry import CURATED, CURATED_TABLES, TABLE_KEYS, TABLE_SCHEMAS


@pytest.fixture(scope="module")
def template():
    return load_template(SOURCE_TEMPLATE)


def test_the_derived_name_lists_are_the_registry_in_its_order():
    names = [t.name for t in CURATED]

    assert len(set(names)) == len(names)
    assert list(CURATED_TABLES) == list(TABLE_SCHEMAS) == list(TABLE_KEYS) == names
    assert [registry.curated_table(n) for n in names] == list(CURATED)


def test_every_key_is_non_nullable_columns_of_its_schema_and_includes_the_partition():
    for table in CURATED:
        fields = {f.name: f for f in table.schema.fields}
        assert PARTITION_KEY in table.key, table.name
        assert all(k in fields and not fields[k].nullable for k in table.key), table.name


def test_each_table_has_its_own_builder_from_tables_py():
    builders = [t.builder for t in CURATED]

    assert len(set(builders)) == len(builders)
    assert all(getattr(tables, t.name) is t.builder for t in CURATED)


def test_merge_policies_the_design_names():
    """docs/design.md s.3: whole observations for the per-playlist tables and per track for its credits,
    enriched artists first."""
    whole = {t.name: t.merge.whole_observation for t in CURATED if t.merge.whole_observation}
    present_first = {t.name: t.merge.present_first for t in CURATED if t.merge.present_first}

    assert whole == {
        "playlist_snapshots": ("playlist_id", "snapshot_date"),
        "playlist_items": ("playlist_id", "snapshot_date"),
        "track_artists": ("track_id", "snapshot_date"),
    }
    assert present_first == {"artists": "genres"}
    for name, column in present_first.items():
        assert column in TABLE_SCHEMAS[name].fieldNames()


def test_the_templates_declared_tables_are_the_registrys(template):
    declared = {
        logical_id: r["Properties"]["TableInput"]
        for logical_id, r in resources_of_type(template, "AWS::Glue::Table").items()
    }

    # besides the registry's tables: data_quality_results, appended by the quality evaluations (not a CuratedTable)
    expected = {t.catalog.logical_id: t.name for t in CURATED} | {
        catalog_tables.RESULTS_LOGICAL_ID: RESULTS_TABLE
    }
    assert {i: d["Name"] for i, d in declared.items()} == expected
    for table in CURATED:
        columns = declared[table.catalog.logical_id]["StorageDescriptor"]["Columns"]
        assert [(c["Name"], c["Type"]) for c in columns] == declared_columns(table.name)
        assert declared_columns(table.name) == [
            (f.name, glue_type_of(f.dataType)) for f in table.schema.fields if f.name != PARTITION_KEY
        ]


def test_the_crawlers_catalog_targets_are_the_registrys_tables_in_order(template):
    targets = template["Resources"]["CuratedCrawler"]["Properties"]["Targets"]["CatalogTargets"]
    refs = [ref["Ref"] for target in targets for ref in target["Tables"]]

    assert refs == [t.catalog.logical_id for t in CURATED] + [catalog_tables.RESULTS_LOGICAL_ID]
    assert [t.name for t in crawler_spec(template, "CuratedCrawler").catalog_tables] == [
        *CURATED_TABLES,
        RESULTS_TABLE,
    ]


def test_the_template_is_what_the_registry_renders():
    text = SOURCE_TEMPLATE.read_text(encoding="utf-8")

    assert catalog_tables.current_block(text) == catalog_tables.render_block()
    targets = catalog_tables.current_block(text, catalog_tables.TARGETS_BEGIN, catalog_tables.TARGETS_END)
    assert targets == catalog_tables.render_targets()


def test_the_yardstick_builds_exactly_the_registrys_tables():
    assert sorted(duckdb_baseline.TABLES) == sorted(CURATED_TABLES)
    assert len(duckdb_baseline.TABLES) == len(CURATED_TABLES)
