"""What the crawler finds in the lake: the partitions of declared tables, or the tables of an S3 target.

Catalog targets (:func:`find_catalog_table`): the table's location is listed; each nesting of Hive folders
``<key>=<value>`` matching the declared partition keys, holding at least one visible file, is a partition
(``_``/``.`` files are hidden, as Athena skips them). Nothing else is looked at: the columns are the declared
ones.

S3 targets (:func:`find_s3_tables`): every file under the include path whose key (relative to the include
path) matches no exclusion; a table is the folder at ``TableLevelConfiguration``, counted from the bucket
(the bucket is level 1, so with ``curated/`` as include path, level 2 is the single table ``curated`` and level 3
is ``curated/<table>``, https://docs.aws.amazon.com/glue/latest/dg/crawler-table-level.html). The folders
between the table and its files are partition columns: the key of ``key=value`` folders, else
``partition_<i>`` (https://docs.aws.amazon.com/glue/latest/dg/crawler-s3-folder-table-partition.html).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from spotify_etl.aws_twin.crawler_spec import DeclaredTable, S3Target, partition_folder
from spotify_etl.transform.globs import excluded

PARQUET_SUFFIX = ".parquet"


@dataclass(frozen=True)
class FoundPartition:
    values: tuple[str, ...]
    directory: Path
    files: tuple[Path, ...]


@dataclass(frozen=True)
class FoundTable:
    name: str
    directory: Path
    declared_columns: tuple[tuple[str, str], ...] | None  # None: inferred from the Parquet footers
    partition_keys: tuple[str, ...]
    partitions: tuple[FoundPartition, ...]
    symlink: bool = False  # partitions hold manifests (SymlinkTextInputFormat), not the data


def _visible(name: str) -> bool:
    return not name.startswith(("_", "."))


def find_catalog_table(lake: Path, table: DeclaredTable, skipped: dict[str, str]) -> FoundTable:
    """The partitions of a declared table, found under its location in the lake."""
    root = lake / table.location_key
    keys = tuple(name for name, _ in table.partition_keys)
    partitions: list[FoundPartition] = []

    def walk(directory: Path, values: tuple[str, ...]) -> None:
        if len(values) == len(keys):
            files = tuple(sorted(f for f in directory.iterdir() if f.is_file() and _visible(f.name)))
            if files:
                partitions.append(FoundPartition(values, directory, files))
            return
        for child in sorted(directory.iterdir()):
            if not _visible(child.name):
                continue
            parsed = partition_folder(child.name)
            if not child.is_dir() or parsed is None or parsed[0] != keys[len(values)]:
                skipped[f"{table.name}/{child.relative_to(root)}"] = (
                    f"not a {keys[len(values)]}=... partition folder; not registered"
                )
                continue
            walk(child, (*values, parsed[1]))

    if root.is_dir():
        walk(root, ())
    return FoundTable(table.name, root, table.columns, keys, tuple(partitions), table.symlink)


def find_s3_tables(lake: Path, target: S3Target, level: int, skipped: dict[str, str]) -> list[FoundTable]:
    """The tables an S3 target gives at the table level, with their partitions."""
    include = lake / target.key
    include_parts = [p for p in target.key.split("/") if p]
    table_depth = level - 1  # folders from the bucket down to the table folder
    grouped: dict[tuple[str, ...], dict[tuple[str, ...], list[Path]]] = {}
    if include.is_dir():
        for directory, dirnames, filenames in os.walk(include):
            dirnames.sort()
            for name in sorted(filenames):
                path = Path(directory) / name
                relative = path.relative_to(include).as_posix()
                if excluded(target.exclusions, relative):
                    continue
                folders = [*include_parts, *relative.split("/")[:-1]]
                if not name.endswith(PARQUET_SUFFIX):
                    skipped[relative] = "not a Parquet file; the crawler would classify it apart"
                    continue
                if table_depth < 1 or len(folders) < table_depth:
                    skipped[relative] = f"above the table level {level} (the bucket is level 1)"
                    continue
                table = tuple(folders[:table_depth])
                grouped.setdefault(table, {}).setdefault(tuple(folders[table_depth:]), []).append(path)
    tables = []
    for table_parts, by_folder in sorted(grouped.items()):
        depth = max(len(f) for f in by_folder)
        keys = []
        for i in range(depth):
            parsed = {partition_folder(f[i]) if i < len(f) else None for f in by_folder}
            names = {p[0] for p in parsed if p is not None}
            keys.append(names.pop() if len(names) == 1 and None not in parsed else f"partition_{i}")
        partitions = []
        for partition_dirs, files in sorted(by_folder.items()):
            values = tuple(
                (partition_folder(partition_dirs[i]) or ("", partition_dirs[i]))[1]
                if i < len(partition_dirs)
                else ""
                for i in range(depth)
            )
            partitions.append(
                FoundPartition(values, lake.joinpath(*table_parts, *partition_dirs), tuple(sorted(files)))
            )
        tables.append(
            FoundTable(
                table_parts[-1].lower(), lake.joinpath(*table_parts), None, tuple(keys), tuple(partitions)
            )
        )
    return tables
