"""The curated tables, one ``CuratedTable`` record each: the one place a table is declared.

Everything else that lists the tables derives from ``CURATED`` here: the schemas and keys
(``TABLE_SCHEMAS``, ``TABLE_KEYS``), the builders the job runs (``build_tables``), the merge rule's policy per
table (``merge.py``), the ``AWS::Glue::Table`` resources of the template and the crawler's catalog targets
(``python -m infra.scripts.catalog_tables`` renders both), the catalog's column types (``glue_types.py``),
the deploy and audit checks. The DuckDB yardstick (``bench/duckdb_baseline.py``) keeps its own SQL per table
and imports no product code; ``tests/unit/transform/test_registry.py`` checks that its tables, the template's and the
local crawler's are exactly these. CONTRIBUTING.md has the recipe for adding a table.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from pyspark.sql import DataFrame
from pyspark.sql.types import StructType

from spotify_etl.transform import schema, tables

Builder = Callable[[DataFrame], DataFrame]


@dataclass(frozen=True)
class MergePolicy:
    """How ``merge.apply_merge_rule`` reduces the rows of many observations to a table's final rows.

    Attributes:
        whole_observation: the group (columns) in which every row comes from the newest observation and
            nothing from the older ones: (playlist_id, snapshot_date) for a table whose partition is one
            observation per playlist and day; (track_id, snapshot_date) for ``track_artists``, whose credits
            of a track on a day are those of the observation ``tracks`` keeps. Empty: per key, the row of the
            newest observation holding it.
        present_first: a column whose non-null rows rank above the rest before recency (``artists``'
            ``genres``: an enriched row is never lost to a later, thinner observation).
    """

    whole_observation: tuple[str, ...] = ()
    present_first: str | None = None


WHOLE_OBSERVATION = MergePolicy(whole_observation=("playlist_id", "snapshot_date"))
WHOLE_TRACK_OBSERVATION = MergePolicy(whole_observation=("track_id", "snapshot_date"))
NEWEST_PER_KEY = MergePolicy()
ENRICHED_FIRST = MergePolicy(present_first="genres")


@dataclass(frozen=True)
class CatalogDeclaration:
    """The table's ``AWS::Glue::Table`` in the template (rendered by ``infra/scripts/catalog_tables.py``).

    Attributes:
        logical_id: the resource's logical id, which the crawler's catalog targets ``!Ref``.
    """

    logical_id: str


@dataclass(frozen=True)
class CuratedTable:
    """One curated table (docs/design.md s.3).

    Attributes:
        name: the table's folder under curated/ and its name in the Data Catalog.
        schema: the exact schema of its rows, nullability included (``spotify_etl/transform/schema.py``).
        key: the columns that identify one row within a partition (``snapshot_date`` is part of every key).
        builder: ``OBSERVATION`` rows -> this table's rows, one per occurrence of a key (``tables.py``).
        merge: how rows of many observations reduce to one per key.
        catalog: how the template declares it.
    """

    name: str
    schema: StructType
    key: tuple[str, ...]
    builder: Builder
    merge: MergePolicy
    catalog: CatalogDeclaration


# name, schema, key, builder, merge policy, catalog declaration: one table a line.
_SNAPSHOT = ("playlist_id", "snapshot_date")
CURATED: tuple[CuratedTable, ...] = (
    CuratedTable("playlist_snapshots", schema.PLAYLIST_SNAPSHOTS_TABLE, _SNAPSHOT, tables.playlist_snapshots, WHOLE_OBSERVATION, CatalogDeclaration("PlaylistSnapshotsTable")),
    CuratedTable("playlist_items", schema.PLAYLIST_ITEMS_TABLE, (*_SNAPSHOT, "position"), tables.playlist_items, WHOLE_OBSERVATION, CatalogDeclaration("PlaylistItemsTable")),
    CuratedTable("tracks", schema.TRACKS_TABLE, ("track_id", "snapshot_date"), tables.tracks, NEWEST_PER_KEY, CatalogDeclaration("TracksTable")),
    CuratedTable("albums", schema.ALBUMS_TABLE, ("album_id", "snapshot_date"), tables.albums, NEWEST_PER_KEY, CatalogDeclaration("AlbumsTable")),
    CuratedTable("artists", schema.ARTISTS_TABLE, ("artist_id", "snapshot_date"), tables.artists, ENRICHED_FIRST, CatalogDeclaration("ArtistsTable")),
    CuratedTable("track_artists", schema.TRACK_ARTISTS_TABLE, ("track_id", "artist_id", "snapshot_date"), tables.track_artists, WHOLE_TRACK_OBSERVATION, CatalogDeclaration("TrackArtistsTable")),
)  # fmt: skip

CURATED_TABLES: tuple[str, ...] = tuple(table.name for table in CURATED)
TABLE_SCHEMAS: dict[str, StructType] = {table.name: table.schema for table in CURATED}
TABLE_KEYS: dict[str, tuple[str, ...]] = {table.name: table.key for table in CURATED}
_BY_NAME = {table.name: table for table in CURATED}


def curated_table(name: str) -> CuratedTable:
    """The record of table ``name``.

    Raises:
        KeyError: ``name`` is not a curated table.
    """
    if name not in _BY_NAME:
        raise KeyError(f"unknown curated table {name!r}; expected one of {', '.join(CURATED_TABLES)}")
    return _BY_NAME[name]


def build_tables(observations_df: DataFrame) -> dict[str, DataFrame]:
    """Every table from one parse of the raw objects (the caller caches ``observations_df``)."""
    return {table.name: table.builder(observations_df) for table in CURATED}
