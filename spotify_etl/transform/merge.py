"""The merge rule of docs/design.md s.3 as one pure function.

The job unions the rows an increment produced with the rows already stored in the partitions it
touches, and ``apply_merge_rule`` reduces that union to the final rows. Because the result is a
function of the *set* of input rows (a total order picks one row per key, with no tie left to arrival
order), it is idempotent (merging merged rows changes nothing) and batch-independent (invariant I1):
merging ``A`` then ``B`` gives the rows of merging ``A ∪ B`` in one go, so any split of the raw objects
into runs, any re-run, and any crash-and-rerun give the same tables.

Observations are ordered by ``(extracted_at, source_file)``; the greatest is the newest. Per table:

- ``playlist_snapshots``, ``playlist_items``: per (playlist_id, snapshot_date), only the greatest
  observation, with all of its items. An item at a position the newest observation does not have
  disappears (the playlist got shorter that day).
- ``track_artists``: per (track_id, snapshot_date), only the greatest observation holding the track, with
  all of its credits, so that a track's credits on a day are those of the observation ``tracks`` keeps for
  it (a credit the day's later observation dropped disappears).
- ``tracks``, ``albums``: per key, the row of the greatest observation holding it.
- ``artists``: per key, enriched rows (``genres IS NOT NULL``: the envelope held the full artist object)
  rank above the rest, then the greatest observation, so a later, thinner observation never loses the
  enrichment.

A remaining tie (two different rows for one key from one observation) goes to the smallest row content,
the same choice the table builders make within an observation.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from spotify_etl.transform.schema import TABLE_KEYS, TABLE_SCHEMAS
from spotify_etl.transform.tables import conform

_PROVENANCE = ("extracted_at", "source_file")
_LATEST = "_latest_observation"
_ROW_NUMBER = "_row_number"

# Tables whose rows for one group (these columns) all come from one observation, the greatest.
_WHOLE_OBSERVATION_GROUPS = {
    "playlist_snapshots": ("playlist_id", "snapshot_date"),
    "playlist_items": ("playlist_id", "snapshot_date"),
    "track_artists": ("track_id", "snapshot_date"),
}


def _content_order(table: str) -> list[Column]:
    """The tie-break: every column that is neither key nor provenance, ascending, nulls first."""
    skip = {*TABLE_KEYS[table], *_PROVENANCE}
    return [
        F.col(field.name).asc_nulls_first() for field in TABLE_SCHEMAS[table].fields if field.name not in skip
    ]


def _newest_first() -> list[Column]:
    return [F.col(name).desc_nulls_last() for name in _PROVENANCE]


def _rank_order(table: str) -> list[Column]:
    """How the rows of one key are ranked, best first."""
    enriched_first = [F.col("genres").isNotNull().desc()] if table == "artists" else []
    return [*enriched_first, *_newest_first(), *_content_order(table)]


def filter_first_per_key(rows_df: DataFrame, key: tuple[str, ...], order: list[Column]) -> DataFrame:
    """The best row of each ``key`` by ``order`` (one window, one shuffle on the key)."""
    window = Window.partitionBy(*key).orderBy(*order)
    return (
        rows_df.withColumn(_ROW_NUMBER, F.row_number().over(window))
        .where(F.col(_ROW_NUMBER) == 1)
        .drop(_ROW_NUMBER)
    )


def filter_latest_observation(
    rows_df: DataFrame, group: tuple[str, ...] = ("playlist_id", "snapshot_date")
) -> DataFrame:
    """The rows of the greatest observation of each ``group``, all of them."""
    observation = F.struct(*[F.col(name) for name in _PROVENANCE])
    window = Window.partitionBy(*group)
    return (
        rows_df.withColumn(_LATEST, F.max(observation).over(window))
        .where(observation == F.col(_LATEST))
        .drop(_LATEST)
    )


def apply_merge_rule(table: str, rows_df: DataFrame) -> DataFrame:
    """Reduce rows of any number of observations of ``table`` to its final rows (schema exactly
    ``TABLE_SCHEMAS[table]``).

    ``rows_df`` holds the table's columns (extra columns are ignored): new rows from ``build_tables``,
    unioned with the rows read back from the partitions they touch. Rows of different snapshot dates
    never interact (``snapshot_date`` is part of every key).

    Raises:
        KeyError: ``table`` is not a curated table.
    """
    if table not in TABLE_SCHEMAS:
        raise KeyError(f"unknown curated table {table!r}; expected one of {', '.join(TABLE_SCHEMAS)}")
    rows_df = conform(rows_df, table)
    if table in _WHOLE_OBSERVATION_GROUPS:
        # Duplicates can remain only from the same observation read twice (a re-run): pick by content.
        latest_df = filter_latest_observation(rows_df, _WHOLE_OBSERVATION_GROUPS[table])
        merged_df = filter_first_per_key(latest_df, TABLE_KEYS[table], _content_order(table))
    else:
        merged_df = filter_first_per_key(rows_df, TABLE_KEYS[table], _rank_order(table))
    return conform(merged_df, table)
