"""The merge rule of docs/design.md s.3 as one pure function.

The job unions the rows an increment produced with the rows already stored in the partitions it
touches, and ``apply_merge_rule`` reduces that union to the final rows. Because the result is a
function of the *set* of input rows (a total order picks one row per key, with no tie left to arrival
order), it is idempotent (merging merged rows changes nothing) and batch-independent (invariant I1):
merging ``A`` then ``B`` gives the rows of merging ``A ∪ B`` in one go, so any split of the raw objects
into runs, any re-run, and any crash-and-rerun give the same tables.

Observations are ordered by ``(extracted_at, source_file)``; the greatest is the newest. Per table (its ``MergePolicy`` in ``registry.py``):

- ``playlist_snapshots``, ``playlist_items`` (``WHOLE_OBSERVATION``): per (playlist_id, snapshot_date), only the greatest
  observation, with all of its items. An item at a position the newest observation does not have
  disappears (the playlist got shorter that day).
- ``track_artists`` (``WHOLE_TRACK_OBSERVATION``): per (track_id, snapshot_date), only the greatest
  observation holding the track, with all of its credits: a track's credits on a day are those of the
  observation ``tracks`` keeps for it (a credit the day's later observation dropped disappears).
- ``tracks``, ``albums`` (``NEWEST_PER_KEY``): per key, the row of the greatest observation holding it.
- ``artists`` (``ENRICHED_FIRST``): per key, enriched rows (``genres IS NOT NULL``: the envelope held the full artist object)
  rank above the rest, then the greatest observation, so a later, thinner observation never loses the
  enrichment.

A remaining tie (rows of one key from one observation: the table builders emit every occurrence, so a track
listed twice in one playlist is two rows) goes to the smallest row content.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from spotify_etl.transform.conform import conform
from spotify_etl.transform.jvm_cache import per_jvm
from spotify_etl.transform.registry import CuratedTable, curated_table

_PROVENANCE = ("extracted_at", "source_file")
_LATEST = "_latest_observation"
_ROW_NUMBER = "_row_number"


def _content_order(table: CuratedTable) -> list[Column]:
    """The tie-break: every column that is neither key nor provenance, ascending, nulls first."""
    skip = {*table.key, *_PROVENANCE}
    return [F.col(field.name).asc_nulls_first() for field in table.schema.fields if field.name not in skip]


def _newest_first() -> list[Column]:
    return [F.col(name).desc_nulls_last() for name in _PROVENANCE]


def _rank_order(table: CuratedTable) -> list[Column]:
    """How the rows of one key are ranked, best first."""
    present = table.merge.present_first
    present_first = [F.col(present).isNotNull().desc()] if present else []
    return [*present_first, *_newest_first(), *_content_order(table)]


def _numbered_first(key: tuple[str, ...], order: list[Column]) -> Column:
    """Each row's rank within its ``key`` by ``order`` (one window, one shuffle on the key)."""
    return F.row_number().over(Window.partitionBy(*key).orderBy(*order))


def _latest_of(group: tuple[str, ...]) -> tuple[Column, Column]:
    """The greatest observation of each ``group`` as a column, and the test that a row is of it."""
    observation = F.struct(*[F.col(name) for name in _PROVENANCE])
    return F.max(observation).over(Window.partitionBy(*group)), observation == F.col(_LATEST)


@per_jvm
def _merge_columns(table: str) -> tuple[tuple[Column, Column] | None, Column]:
    """``table``'s merge as columns (built once, ``jvm_cache``): the latest-observation filter of a
    whole-observation table (else None), and the row number whose 1 is each key's best row."""
    curated = curated_table(table)
    group = curated.merge.whole_observation
    if group:
        # Duplicates of a key within the greatest observation (a re-run read it twice; track_artists: a track
        # listed twice in it): pick by content.
        return _latest_of(group), _numbered_first(curated.key, _content_order(curated))
    return None, _numbered_first(curated.key, _rank_order(curated))


def apply_merge_rule(table: str, rows_df: DataFrame) -> DataFrame:
    """Reduce rows of any number of observations of ``table`` to its final rows (schema exactly
    ``registry.TABLE_SCHEMAS[table]``), by the table's ``MergePolicy``.

    ``rows_df`` holds the table's columns (extra columns are ignored): new rows from ``build_tables``,
    unioned with the rows read back from the partitions they touch. Rows of different snapshot dates
    never interact (``snapshot_date`` is part of every key).

    Raises:
        KeyError: ``table`` is not a curated table.
    """
    curated = curated_table(table)
    rows_df = conform(rows_df, curated.schema)
    latest, row_number = _merge_columns(table)
    if latest is not None:
        latest_column, is_latest = latest
        rows_df = rows_df.withColumn(_LATEST, latest_column).where(is_latest).drop(_LATEST)
    merged_df = rows_df.withColumn(_ROW_NUMBER, row_number).where(F.col(_ROW_NUMBER) == 1).drop(_ROW_NUMBER)
    return conform(merged_df, curated.schema)
