"""The crawler of the CloudFormation template, as the local crawler needs it: targets, configuration, tables.

``crawler_spec(template, logical_id)`` reads an ``AWS::Glue::Crawler`` and the ``AWS::Glue::Table`` resources
its catalog targets name, and refuses what AWS would refuse or what the local twin cannot model faithfully:

- ``Configuration`` is the crawler's JSON string
  (https://docs.aws.amazon.com/glue/latest/dg/crawler-configuration.html); ``Grouping.TableLevelConfiguration``
  is the absolute level of the tables counted from the bucket, the top-level folder being level 1
  (https://docs.aws.amazon.com/glue/latest/dg/crawler-table-level.html).
- Catalog targets crawl the location of tables that already exist; the crawler adds partitions and, with
  ``UpdateBehavior: LOG``, never changes a table
  (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-glue-crawler-schemachangepolicy.html).
  A table a target names must be declared in the template (on AWS the crawl fails: the table is not found).
  ``DEPRECATE_IN_DATABASE`` is not offered for catalog-table sources (crawler-configuration.html lists only
  "delete" or "ignore" for them), and the incremental recrawl modes apply to Amazon S3 sources only
  (https://docs.aws.amazon.com/glue/latest/webapi/API_RecrawlPolicy.html): both are refused on catalog targets.
- S3 targets: ``Path`` and ``Exclusions`` (Glue globs, relative to the path: :mod:`spotify_etl.transform.globs`).
  Without ``TableLevelConfiguration`` AWS groups folders by schema similarity, a heuristic the twin does not
  model: the twin then refuses, and says to set the level.

Locations are mapped to the lake by their key in the data bucket: ``s3://${DataBucket}/curated/x/`` is
``<lake>/curated/x/`` (the lake folder stands for the bucket).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from spotify_etl.aws_twin.symlink_tables import SYMLINK_INPUT_FORMAT
from spotify_etl.cfn_template import properties, resources_of_type, sub_text

DATA_BUCKET_PREFIX = "s3://${DataBucket}/"
CATALOG_DELETE_BEHAVIORS = ("LOG", "DELETE_FROM_DATABASE")


class CrawlerSpecError(ValueError):
    """The crawler of the template is not one AWS would run as intended, or one the twin cannot model."""


@dataclass(frozen=True)
class DeclaredTable:
    name: str
    location_key: str  # key in the data bucket, ending with "/"
    columns: tuple[tuple[str, str], ...]  # (name, Glue type), data columns in order
    partition_keys: tuple[tuple[str, str], ...]
    symlink: bool = False  # InputFormat SymlinkTextInputFormat: partitions hold manifests naming the files


@dataclass(frozen=True)
class S3Target:
    key: str  # key prefix in the data bucket, ending with "/"
    exclusions: tuple[str, ...]


@dataclass(frozen=True)
class CrawlerSpec:
    logical_id: str
    s3_targets: tuple[S3Target, ...]
    catalog_tables: tuple[DeclaredTable, ...]
    table_level: int | None
    update_behavior: str
    delete_behavior: str
    recrawl_behavior: str
    partitions_inherit_from_table: bool


def _bucket_key(value: Any, where: str) -> str:
    text = sub_text(value)
    if text is None or not text.startswith(DATA_BUCKET_PREFIX):
        raise CrawlerSpecError(
            f"{where}: {value!r} is not a location in the data bucket (s3://${{DataBucket}}/...)"
        )
    key = text[len(DATA_BUCKET_PREFIX) :]
    return key if key.endswith("/") else key + "/"


def _tables_by_name(template: Mapping[str, Any]) -> dict[str, tuple[str, Mapping[str, Any]]]:
    found = {}
    for rid, resource in resources_of_type(template, "AWS::Glue::Table").items():
        table_input = properties(resource).get("TableInput") or {}
        found[str(table_input.get("Name"))] = (rid, table_input)
    return found


def _declared_table(name: str, table_input: Mapping[str, Any], where: str) -> DeclaredTable:
    storage = table_input.get("StorageDescriptor") or {}
    columns = tuple((str(c["Name"]), str(c["Type"])) for c in storage.get("Columns") or [])
    keys = tuple((str(c["Name"]), str(c["Type"])) for c in table_input.get("PartitionKeys") or [])
    if not columns:
        raise CrawlerSpecError(f"{where}: table {name} declares no columns")
    location = _bucket_key(storage.get("Location"), f"{where}, table {name}")
    return DeclaredTable(name, location, columns, keys, storage.get("InputFormat") == SYMLINK_INPUT_FORMAT)


def _configuration(props: Mapping[str, Any], where: str) -> dict[str, Any]:
    text = props.get("Configuration")
    if text is None:
        return {}
    try:
        parsed = json.loads(str(text))
    except json.JSONDecodeError as error:
        raise CrawlerSpecError(f"{where}: Configuration is not JSON ({error}); AWS rejects it") from error
    if not isinstance(parsed, dict):
        raise CrawlerSpecError(f"{where}: Configuration must be a JSON object")
    return parsed


def crawler_spec(template: Mapping[str, Any], logical_id: str | None = None) -> CrawlerSpec:
    """The crawler ``logical_id`` (the only crawler when None) of a parsed template, checked (module doc)."""
    crawlers = resources_of_type(template, "AWS::Glue::Crawler")
    if logical_id is None:
        if len(crawlers) != 1:
            raise CrawlerSpecError(f"the template declares {len(crawlers)} crawlers; name one")
        logical_id = next(iter(crawlers))
    if logical_id not in crawlers:
        raise CrawlerSpecError(f"no AWS::Glue::Crawler {logical_id!r} in the template")
    where = f"crawler {logical_id}"
    props = properties(crawlers[logical_id])
    targets = props.get("Targets") or {}
    config = _configuration(props, where)
    level = (config.get("Grouping") or {}).get("TableLevelConfiguration")
    if level is not None and (not isinstance(level, int) or isinstance(level, bool) or level < 1):
        raise CrawlerSpecError(f"{where}: TableLevelConfiguration must be a positive integer, got {level!r}")
    policy = props.get("SchemaChangePolicy") or {}
    spec = CrawlerSpec(
        logical_id=logical_id,
        s3_targets=tuple(
            S3Target(_bucket_key(t.get("Path"), f"{where}, S3 target"), tuple(t.get("Exclusions") or ()))
            for t in targets.get("S3Targets") or []
        ),
        catalog_tables=_catalog_tables(template, targets.get("CatalogTargets") or [], where),
        table_level=level,
        update_behavior=str(policy.get("UpdateBehavior", "UPDATE_IN_DATABASE")),
        delete_behavior=str(policy.get("DeleteBehavior", "DEPRECATE_IN_DATABASE")),
        recrawl_behavior=str((props.get("RecrawlPolicy") or {}).get("RecrawlBehavior", "CRAWL_EVERYTHING")),
        partitions_inherit_from_table=(
            ((config.get("CrawlerOutput") or {}).get("Partitions") or {}).get("AddOrUpdateBehavior")
            == "InheritFromTable"
        ),
    )
    _check(spec, targets, where)
    return spec


def _catalog_tables(
    template: Mapping[str, Any], catalog_targets: list[Mapping[str, Any]], where: str
) -> tuple[DeclaredTable, ...]:
    declared = _tables_by_name(template)
    by_id = {rid: name for name, (rid, _) in declared.items()}
    tables = []
    for target in catalog_targets:
        for entry in target.get("Tables") or []:
            name = by_id.get(entry["Ref"]) if isinstance(entry, dict) and "Ref" in entry else str(entry)
            if name not in declared:
                raise CrawlerSpecError(
                    f"{where}: catalog target table {entry!r} is not an AWS::Glue::Table of the template; "
                    "on AWS the crawl fails (EntityNotFoundException)"
                )
            tables.append(_declared_table(name, declared[name][1], where))
    return tuple(tables)


def _check(spec: CrawlerSpec, targets: Mapping[str, Any], where: str) -> None:
    unsupported = sorted(k for k, v in targets.items() if v and k not in ("S3Targets", "CatalogTargets"))
    if unsupported:
        raise CrawlerSpecError(
            f"{where}: the local crawler models S3 and catalog targets only, not {unsupported}"
        )
    if not spec.s3_targets and not spec.catalog_tables:
        raise CrawlerSpecError(f"{where}: no S3 or catalog target")
    if spec.catalog_tables:
        if spec.delete_behavior not in CATALOG_DELETE_BEHAVIORS:
            raise CrawlerSpecError(
                f"{where}: DeleteBehavior {spec.delete_behavior} is not offered for catalog targets "
                f"(one of {', '.join(CATALOG_DELETE_BEHAVIORS)})"
            )
        if spec.recrawl_behavior != "CRAWL_EVERYTHING":
            raise CrawlerSpecError(
                f"{where}: RecrawlBehavior {spec.recrawl_behavior} applies to Amazon S3 sources; "
                "a catalog-target crawler crawls everything (CRAWL_EVERYTHING)"
            )
    if spec.s3_targets and spec.table_level is None:
        raise CrawlerSpecError(
            f"{where}: without Grouping.TableLevelConfiguration the crawler groups S3 folders by schema "
            "similarity, which the local crawler does not model; set the level (bucket = 1)"
        )


_PARTITION_DIR = re.compile(r"^(?P<key>[^=/]+)=(?P<value>[^/]*)$")


def partition_folder(name: str) -> tuple[str, str] | None:
    """``snapshot_date=2026-01-01`` -> (key, value); None for a folder that is not Hive-style."""
    match = _PARTITION_DIR.match(name)
    return (match.group("key"), match.group("value")) if match else None
