"""Explicit schemas: the raw envelope (docs/design.md s.2) and the six curated tables (docs/design.md s.3).

Raw JSON is never schema-inferred. The envelope schema lists only the fields the tables use; the JSON
parser ignores the rest. Integers that Spotify sends as JSON numbers are read as LongType so that a
large follower count never overflows.
"""

from __future__ import annotations

from pyspark.sql.types import (
    ArrayType,
    BooleanType,
    DateType,
    IntegerType,
    LongType,
    MapType,
    StringType,
    StructField,
    StructType,
    TimestampType,
)

SUPPORTED_SCHEMA_VERSIONS = (1,)


def _f(name: str, dtype: object, nullable: bool = True) -> StructField:
    return StructField(name, dtype, nullable)  # type: ignore[arg-type]


SIMPLE_ARTIST = StructType([_f("id", StringType()), _f("name", StringType()), _f("uri", StringType())])

IMAGE = StructType([_f("url", StringType()), _f("width", LongType()), _f("height", LongType())])

ALBUM = StructType(
    [
        _f("id", StringType()),
        _f("name", StringType()),
        _f("album_type", StringType()),
        _f("release_date", StringType()),
        _f("release_date_precision", StringType()),
        _f("total_tracks", LongType()),
        _f("images", ArrayType(IMAGE)),
        _f("artists", ArrayType(SIMPLE_ARTIST)),
        _f("uri", StringType()),
    ]
)

# A track or an episode object (the item of a playlist item). Episodes have no album/artists.
PLAYABLE = StructType(
    [
        _f("id", StringType()),
        _f("type", StringType()),
        _f("name", StringType()),
        _f("uri", StringType()),
        _f("duration_ms", LongType()),
        _f("explicit", BooleanType()),
        _f("popularity", LongType()),
        _f("disc_number", LongType()),
        _f("track_number", LongType()),
        _f("preview_url", StringType()),
        _f("is_local", BooleanType()),
        _f("external_ids", StructType([_f("isrc", StringType())])),
        _f("album", ALBUM),
        _f("artists", ArrayType(SIMPLE_ARTIST)),
    ]
)

PLAYLIST_ITEM = StructType(
    [
        _f("added_at", StringType()),
        _f("added_by", StructType([_f("id", StringType())])),
        _f("is_local", BooleanType()),
        _f("item", PLAYABLE),  # 2026 name
        _f("track", PLAYABLE),  # older name
    ]
)

FULL_ARTIST = StructType(
    [
        _f("id", StringType()),
        _f("name", StringType()),
        _f("uri", StringType()),
        _f("genres", ArrayType(StringType())),
        _f("popularity", LongType()),
        _f("followers", StructType([_f("total", LongType())])),
    ]
)

PLAYLIST = StructType(
    [
        _f("id", StringType()),
        _f("snapshot_id", StringType()),
        _f("name", StringType()),
        _f("description", StringType()),
        _f("owner", StructType([_f("id", StringType()), _f("display_name", StringType())])),
        _f("followers", StructType([_f("total", LongType())])),
        _f("public", BooleanType()),
        _f("collaborative", BooleanType()),
    ]
)

ENVELOPE = StructType(
    [
        _f("schema_version", LongType()),
        _f("extracted_at", StringType()),
        _f("market", StringType()),
        _f("api", StructType([_f("base_url", StringType()), _f("auth_flow", StringType())])),
        _f("playlist", PLAYLIST),
        _f("items", ArrayType(PLAYLIST_ITEM)),
        _f("artists", ArrayType(FULL_ARTIST)),
        # artist id -> when its full object was fetched (ISO-8601 UTC); absent before the artist cache
        _f("artists_fetched_at", MapType(StringType(), StringType())),
    ]
)

# One parsed, validated observation: the envelope plus its provenance, as the table builders receive it.
OBSERVATION = StructType(
    [
        _f("source_file", StringType(), False),
        _f("extracted_at", TimestampType(), False),
        _f("snapshot_date", StringType(), False),
        _f("market", StringType()),
        _f("playlist", PLAYLIST),
        _f("items", ArrayType(PLAYLIST_ITEM)),
        _f("artists", ArrayType(FULL_ARTIST)),
    ]
)

# Rows the driver hands to Spark (transform/driver_rows.py): raw text before it is read, the local reader's
# names (Spark's percent-encoded input_file_name -> the listed URI), keys, rejections.
ENCODED_NAMES = StructType([_f("encoded", StringType()), _f("listed", StringType())])
RAW_TEXT = StructType([_f("source_file", StringType()), _f("value", StringType())])
SOURCE_FILES = StructType([_f("source_file", StringType())])
REJECTION = StructType(
    [_f("source_file", StringType()), _f("reason", StringType()), _f("detail", StringType())]
)

QUARANTINE = StructType(
    [
        _f("source_file", StringType(), False),
        _f("reason", StringType(), False),
        _f("detail", StringType()),
        _f("rejected_at", TimestampType(), False),
        _f("rejected_date", StringType(), False),
    ]
)

_PROVENANCE = [_f("extracted_at", TimestampType(), False), _f("source_file", StringType(), False)]
_PARTITION = [_f("snapshot_date", StringType(), False)]

# The curated tables' rows (docs/design.md s.3); spotify_etl/transform/registry.py names them, with their keys.
PLAYLIST_SNAPSHOTS_TABLE = StructType(
    [
        _f("playlist_id", StringType(), False),
        _f("snapshot_id", StringType()),
        _f("playlist_name", StringType()),
        _f("description", StringType()),
        _f("owner_id", StringType()),
        _f("owner_display_name", StringType()),
        _f("followers", LongType()),
        _f("is_public", BooleanType()),
        _f("is_collaborative", BooleanType()),
        _f("item_count", IntegerType(), False),
        *_PROVENANCE,
        *_PARTITION,
    ]
)

PLAYLIST_ITEMS_TABLE = StructType(
    [
        _f("playlist_id", StringType(), False),
        _f("snapshot_id", StringType()),
        _f("position", IntegerType(), False),
        _f("item_type", StringType(), False),
        _f("item_id", StringType()),
        _f("item_uri", StringType()),
        _f("track_id", StringType()),
        _f("added_at", TimestampType()),
        _f("added_by_id", StringType()),
        *_PROVENANCE,
        *_PARTITION,
    ]
)

TRACKS_TABLE = StructType(
    [
        _f("track_id", StringType(), False),
        _f("track_name", StringType()),
        _f("album_id", StringType()),
        _f("artist_ids", ArrayType(StringType())),
        _f("duration_ms", LongType()),
        _f("is_explicit", BooleanType()),
        _f("isrc", StringType()),
        _f("popularity", LongType()),
        _f("disc_number", IntegerType()),
        _f("track_number", IntegerType()),
        _f("track_uri", StringType()),
        _f("preview_url", StringType()),
        *_PROVENANCE,
        *_PARTITION,
    ]
)

ALBUMS_TABLE = StructType(
    [
        _f("album_id", StringType(), False),
        _f("album_name", StringType()),
        _f("album_type", StringType()),
        _f("release_date", DateType()),
        _f("release_date_raw", StringType()),
        _f("release_date_precision", StringType()),
        _f("total_tracks", IntegerType()),
        _f("artist_ids", ArrayType(StringType())),
        _f("image_url", StringType()),
        *_PROVENANCE,
        *_PARTITION,
    ]
)

ARTISTS_TABLE = StructType(
    [
        _f("artist_id", StringType(), False),
        _f("artist_name", StringType()),
        _f("artist_uri", StringType()),
        _f("genres", ArrayType(StringType())),
        _f("popularity", LongType()),
        _f("followers", LongType()),
        *_PROVENANCE,
        *_PARTITION,
    ]
)

TRACK_ARTISTS_TABLE = StructType(
    [
        _f("track_id", StringType(), False),
        _f("artist_id", StringType(), False),
        _f("artist_position", IntegerType(), False),
        *_PROVENANCE,
        *_PARTITION,
    ]
)
