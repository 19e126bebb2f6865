"""The six curated tables of docs/design.md s.3, derived from parsed observations.

Every function here is a pure ``DataFrame -> DataFrame`` transform of an ``OBSERVATION`` DataFrame
(one row per raw object). Each emits one row per *occurrence* of a key in an observation: a track listed
twice in one playlist yields two ``tracks`` rows, as two observations of the same day do. Reducing rows, within
an observation and across observations (and against rows already in the lake), is
``merge.apply_merge_rule``'s job alone: its order (enriched artists first, the newest observation, then the
smallest row content) picks one row per key, so the result never depends on the order of the items.

How it stays cheap (docs/design.md s.6): no Python UDFs, no shuffle; every table explodes the items at most
once, with higher-order functions choosing each observation's rows before the explode. Tracks and albums are
shaped after it, in generated code (``_objects_then_rows``), as ``playlist_items`` is; the rows of ``artists`` and
``track_artists`` are field copies, shaped in the explode's lambda, which Spark runs without generated code.
(The builders once also deduplicated each observation's rows inside its array, sorting an array of row structs by
Spark's interpreted ordering: that cost more than the merge's shuffle of the extra rows saves, most of all for
``track_artists``'s two-column key, docs/performance.md.)

Null handling: any nested struct may be null or missing. Rows without a key (a local file's null id,
an album without id, an artist without id) are never emitted.
"""

from __future__ import annotations

from collections.abc import Callable

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import ArrayType, StringType, StructType

from spotify_etl.transform.conform import conform
from spotify_etl.transform.jvm_cache import per_jvm
from spotify_etl.transform.schema import (
    ALBUMS_TABLE,
    ARTISTS_TABLE,
    PLAYLIST_ITEMS_TABLE,
    PLAYLIST_SNAPSHOTS_TABLE,
    TRACK_ARTISTS_TABLE,
    TRACKS_TABLE,
)

_PROVENANCE = ("extracted_at", "source_file", "snapshot_date")
_INT_MIN, _INT_MAX = -(2**31), 2**31 - 1


# ---------------------------------------------------------------------------------------------------
# Column functions on one playlist item (a PLAYLIST_ITEM struct column or lambda variable)
# ---------------------------------------------------------------------------------------------------


def playable(item: Column) -> Column:
    """The item's track or episode: the 2026 key ``item`` when present, else the older ``track``."""
    return F.coalesce(item["item"], item["track"])


def item_type(item: Column) -> Column:
    """``local`` | ``unavailable`` | ``episode`` | ``track`` (docs/design.md s.3), never null."""
    obj = playable(item)
    is_local = F.coalesce(item["is_local"], F.lit(False)) | F.coalesce(obj["is_local"], F.lit(False))
    return (
        F.when(is_local, F.lit("local"))
        .when(obj.isNull(), F.lit("unavailable"))
        .when(obj["type"] == F.lit("episode"), F.lit("episode"))
        .otherwise(F.lit("track"))
    )


def item_id(item: Column) -> Column:
    """The playable's id; null for local files (their ids are null anyway) and unavailable items."""
    return F.when(item_type(item) != F.lit("local"), playable(item)["id"])


def to_int(number: Column) -> Column:
    """A JSON integer (read as bigint) as int; null when it does not fit, on Spark 3.5 and 4 alike.

    A plain ``cast("int")`` wraps an out-of-range value silently on Spark 3.5 and raises on Spark 4.1, whose
    ANSI mode is on by default (https://spark.apache.org/docs/latest/sql-ref-ansi-compliance.html): one
    absurd number in one object would then fail the whole run on Glue 6.0. ``try_cast`` as a Column method
    is Spark 4 only, hence the explicit range check.
    """
    return F.when(number.between(_INT_MIN, _INT_MAX), number.cast("int"))


def _ids(simple_objects: Column) -> Column:
    """The non-null ids of an array of simple objects, in order; an empty array when the array is null."""
    return F.filter(F.transform(_or_empty(simple_objects), lambda o: o["id"]), lambda i: i.isNotNull())


def _or_empty(array: Column) -> Column:
    return F.coalesce(array, F.array())


def _track_objects(items: Column) -> Column:
    """The playables of the ``track`` items that have an id, in playlist order (may hold duplicates)."""
    as_tracks = F.transform(
        _or_empty(items), lambda it: F.when(item_type(it) == F.lit("track"), playable(it))
    )
    return F.filter(as_tracks, lambda p: p["id"].isNotNull())


# ---------------------------------------------------------------------------------------------------
# Column functions on albums and dates
# ---------------------------------------------------------------------------------------------------

_DATE_PATTERNS = {"year": r"^\d{4}$", "month": r"^\d{4}-\d{2}$", "day": r"^\d{4}-\d{2}-\d{2}$"}


def release_date(raw: Column, precision: Column) -> Column:
    """The first day a release date stands for: ``1981`` -> 1981-01-01, ``1981-12`` -> 1981-12-01.

    The precision (``year|month|day``) decides how the string is read; when it is missing, the string's
    length does. Anything that does not fit its precision, or is not a real date (``0000``,
    ``1981-02-30``), gives null: the caller keeps the string in ``release_date_raw``.
    """
    effective = F.coalesce(
        precision,
        F.when(F.length(raw) == 4, F.lit("year"))
        .when(F.length(raw) == 7, F.lit("month"))
        .when(F.length(raw) == 10, F.lit("day")),
    )
    padded = (
        F.when((effective == "year") & raw.rlike(_DATE_PATTERNS["year"]), F.concat(raw, F.lit("-01-01")))
        .when((effective == "month") & raw.rlike(_DATE_PATTERNS["month"]), F.concat(raw, F.lit("-01")))
        .when((effective == "day") & raw.rlike(_DATE_PATTERNS["day"]), raw)
    )
    # Year 0 parses in Spark's proleptic calendar but is no release date (and breaks Python's datetime).
    real = padded.isNotNull() & (F.substring(padded, 1, 4) != F.lit("0000"))
    return F.when(real, F.to_date(F.try_to_timestamp(padded, F.lit("yyyy-MM-dd"))))


def widest_image_url(images: Column) -> Column:
    """The url of the widest image, ties broken by the smallest url; any url when no width is known."""
    with_url = F.filter(_or_empty(images), lambda i: i["url"].isNotNull())
    widest = F.array_max(F.transform(with_url, lambda i: i["width"]))
    among_widest = F.filter(with_url, lambda i: i["width"] == widest)
    return F.coalesce(
        F.array_min(F.transform(among_widest, lambda i: i["url"])),
        F.array_min(F.transform(with_url, lambda i: i["url"])),
    )


# ---------------------------------------------------------------------------------------------------
# Per-observation rows as arrays of structs
# ---------------------------------------------------------------------------------------------------


def _explode_rows(observations_df: DataFrame, rows_of: Callable[[], Column], table: StructType) -> DataFrame:
    """One output row per element of each observation's ``rows_of()`` array, in the table's schema."""
    exploded_df = observations_df.select(*_PROVENANCE, _exploded(rows_of))
    return exploded_df.select(*_PROVENANCE, "_row.*").transform(lambda df: conform(df, table))


@per_jvm
def _exploded(rows_of: Callable[[], Column]) -> Column:
    return F.explode(rows_of()).alias("_row")


def _track_fields(track: Column) -> list[Column]:
    return [
        track["id"].alias("track_id"),
        track["name"].alias("track_name"),
        track["album"]["id"].alias("album_id"),
        _ids(track["artists"]).alias("artist_ids"),
        track["duration_ms"].alias("duration_ms"),
        track["explicit"].alias("is_explicit"),
        track["external_ids"]["isrc"].alias("isrc"),
        track["popularity"].alias("popularity"),
        to_int(track["disc_number"]).alias("disc_number"),
        to_int(track["track_number"]).alias("track_number"),
        track["uri"].alias("track_uri"),
        track["preview_url"].alias("preview_url"),
    ]


def _album_fields(album: Column) -> list[Column]:
    return [
        album["id"].alias("album_id"),
        album["name"].alias("album_name"),
        album["album_type"].alias("album_type"),
        release_date(album["release_date"], album["release_date_precision"]).alias("release_date"),
        album["release_date"].alias("release_date_raw"),
        album["release_date_precision"].alias("release_date_precision"),
        to_int(album["total_tracks"]).alias("total_tracks"),
        _ids(album["artists"]).alias("artist_ids"),
        widest_image_url(album["images"]).alias("image_url"),
    ]


def _simple_artist_row(artist: Column) -> Column:
    return F.struct(
        artist["id"].alias("artist_id"),
        artist["name"].alias("artist_name"),
        artist["uri"].alias("artist_uri"),
        F.lit(None).cast(ArrayType(StringType())).alias("genres"),
        F.lit(None).cast("bigint").alias("popularity"),
        F.lit(None).cast("bigint").alias("followers"),
    )


def _full_artist_row(artist: Column) -> Column:
    return F.struct(
        artist["id"].alias("artist_id"),
        artist["name"].alias("artist_name"),
        artist["uri"].alias("artist_uri"),
        # Enriched means "we saw the full object": an object without genres has none, not unknown ones.
        F.coalesce(artist["genres"], F.array().cast(ArrayType(StringType()))).alias("genres"),
        artist["popularity"].alias("popularity"),
        artist["followers"]["total"].alias("followers"),
    )


def _with_key(rows: Column, key: str) -> Column:
    return F.filter(rows, lambda row: row[key].isNotNull())


# ---------------------------------------------------------------------------------------------------
# The six tables
# ---------------------------------------------------------------------------------------------------


def playlist_snapshots(observations_df: DataFrame) -> DataFrame:
    """One row per observation: the playlist's metadata at that moment and how many items it had."""
    return observations_df.select(*_snapshot_columns()).transform(
        lambda df: conform(df, PLAYLIST_SNAPSHOTS_TABLE)
    )


@per_jvm
def _snapshot_columns() -> list[Column | str]:
    playlist = F.col("playlist")
    return [
        playlist["id"].alias("playlist_id"),
        playlist["snapshot_id"].alias("snapshot_id"),
        playlist["name"].alias("playlist_name"),
        playlist["description"].alias("description"),
        playlist["owner"]["id"].alias("owner_id"),
        playlist["owner"]["display_name"].alias("owner_display_name"),
        playlist["followers"]["total"].alias("followers"),
        playlist["public"].alias("is_public"),
        playlist["collaborative"].alias("is_collaborative"),
        F.size(_or_empty(F.col("items"))).alias("item_count"),
        *_PROVENANCE,
    ]


def playlist_items(observations_df: DataFrame) -> DataFrame:
    """One row per item of each observation, at its 0-based position, whatever its type."""
    exploding, item_columns = _item_columns()
    return (
        observations_df.select(*exploding)
        .select(*item_columns)
        .transform(lambda df: conform(df, PLAYLIST_ITEMS_TABLE))
    )


@per_jvm
def _item_columns() -> tuple[list[Column | str], list[Column | str]]:
    """The columns of ``playlist_items``: the explode by position, then the item's fields."""
    exploding: list[Column | str] = [
        F.col("playlist")["id"].alias("playlist_id"),
        F.col("playlist")["snapshot_id"].alias("snapshot_id"),
        *_PROVENANCE,
        F.posexplode(_or_empty(F.col("items"))).alias("position", "item"),
    ]
    item = F.col("item")
    kind = item_type(item)
    return exploding, [
        "playlist_id",
        "snapshot_id",
        "position",
        kind.alias("item_type"),
        item_id(item).alias("item_id"),
        playable(item)["uri"].alias("item_uri"),
        F.when(kind == F.lit("track"), item_id(item)).alias("track_id"),
        F.try_to_timestamp(item["added_at"]).alias("added_at"),
        item["added_by"]["id"].alias("added_by_id"),
        *_PROVENANCE,
    ]


def tracks(observations_df: DataFrame) -> DataFrame:
    """One row per track item (non-null id, item type ``track``) of each observation, shaped after the explode
    (as ``albums``)."""
    return _objects_then_rows(observations_df, _track_objects_of_items, _track_fields, TRACKS_TABLE)


def _track_objects_of_items() -> Column:
    return _track_objects(F.col("items"))


def _objects_then_rows(
    observations_df: DataFrame,
    objects: Callable[[], Column],
    fields: Callable[[Column], list[Column]],
    table: StructType,
) -> DataFrame:
    """Each observation's ``objects()`` exploded as they are, then each shaped into the table's row by
    ``fields``: the row's expressions are evaluated once per row in the stage's generated code, not inside the
    explode's lambda, which Spark evaluates row by row without code generation (every higher-order function of
    Spark 3.5 and 4.1 is a ``CodegenFallback``; https://github.com/apache/spark/pull/54864). Measured in
    docs/performance.md ("A slower machine, the gate in one partition up to 128 MB, tracks and albums shaped after
    the explode")."""
    exploding, shaped = _exploded_then_shaped(objects, fields)
    return observations_df.select(*exploding).select(*shaped).transform(lambda df: conform(df, table))


@per_jvm
def _exploded_then_shaped(
    objects: Callable[[], Column], fields: Callable[[Column], list[Column]]
) -> tuple[list[Column | str], list[Column]]:
    exploding: list[Column | str] = [*_PROVENANCE, F.explode(objects()).alias("_object")]
    return exploding, [*(F.col(name) for name in _PROVENANCE), *fields(F.col("_object"))]


def albums(observations_df: DataFrame) -> DataFrame:
    """One row per track item's album (non-null id) of each observation, shaped after the explode."""
    return _objects_then_rows(observations_df, _album_objects, _album_fields, ALBUMS_TABLE)


def _album_objects() -> Column:
    albums_of_tracks = F.transform(_track_objects(F.col("items")), lambda t: t["album"])
    return F.filter(albums_of_tracks, lambda a: a["id"].isNotNull())


def artists(observations_df: DataFrame) -> DataFrame:
    """One row per artist object of each observation: track credits, album artists, full objects.

    A full artist object from the envelope's ``artists`` is enriched (genres never null): the merge rule ranks
    it above the simple objects of the same artist.
    """
    return _explode_rows(observations_df, _artist_rows, ARTISTS_TABLE)


def _artist_rows() -> Column:
    credited = F.flatten(
        F.transform(
            _track_objects(F.col("items")),
            lambda t: F.concat(_or_empty(t["artists"]), _or_empty(t["album"]["artists"])),
        )
    )
    rows = F.concat(
        F.transform(_or_empty(F.col("artists")), _full_artist_row),
        F.transform(credited, _simple_artist_row),
    )
    return _with_key(rows, "artist_id")


def track_artists(observations_df: DataFrame) -> DataFrame:
    """One row per credit (track item, credited artist) of each observation, with the 0-based credit position.

    The position counts the credited artists that have an id, so it indexes ``tracks.artist_ids``. The merge
    rule keeps an artist credited twice on one track at its first position (the smallest).
    """
    return _explode_rows(observations_df, _credit_rows, TRACK_ARTISTS_TABLE)


def _credit_rows() -> Column:
    def credits(track: Column) -> Column:
        return F.transform(
            _ids(track["artists"]),
            lambda artist_id, position: F.struct(
                track["id"].alias("track_id"),
                artist_id.alias("artist_id"),
                position.alias("artist_position"),
            ),
        )

    return F.flatten(F.transform(_track_objects(F.col("items")), credits))


__all__ = [
    "albums",
    "artists",
    "playlist_items",
    "playlist_snapshots",
    "release_date",
    "track_artists",
    "tracks",
    "widest_image_url",
]
