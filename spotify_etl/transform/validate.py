"""Where raw JSON becomes a DataFrame: parse once with the explicit envelope schema, validate, quarantine.

Input: one row per line of a raw object, ``(source_file, value)``. Output: the valid observations (schema
``OBSERVATION``, one row per raw object) and the rejected objects (``source_file, reason, detail``).

Every raw object ends up in exactly one of the two (I2). The JSON is parsed a single time, in PERMISSIVE
mode with a corrupt-record column: Spark then returns the fields it could read and, separately, the text of
any record that did not fit the schema. Only those few rejected records are looked at again, to name the
reason.

The reasons, when each applies and the forms of their details are one list, ``reasons.py`` (the first
check that applies is recorded); ``tests/unit/transform/test_validate.py`` has one case per validation reason.
"""

from __future__ import annotations

from datetime import datetime

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import (
    StringType,
    StructField,
    StructType,
)

from spotify_etl.transform.bounds import MAX_INFLATED_BYTES, MAX_ITEMS
from spotify_etl.transform.envelope_keys import (
    STRING_KEY_HOLDS_STRUCTURE,
    STRING_KEY_HOLDS_STRUCTURE_SCAN,
    string_may_hold_structure,
    wrong_type_detail,
)
from spotify_etl.transform.jvm_cache import per_jvm
from spotify_etl.transform.plausibility import EARLIEST_EXTRACTED_AT, FUTURE_TOLERANCE, iso_z
from spotify_etl.transform.reasons import VALIDATION_REASONS
from spotify_etl.transform.schema import ENVELOPE, OBSERVATION, SUPPORTED_SCHEMA_VERSIONS

CORRUPT_COLUMN = "_corrupt_record"
# The run's latest plausible extracted_at (ISO-8601 UTC like 2026-11-22T04:00:05Z, null: no upper bound), a
# column of the records rather than a literal of the plan: the plan, and so the classes Spark generates and
# compiles for it, is then the same for every run (a timestamp literal is inlined into the generated code;
# a string one is passed by reference), and its compiled classes are reused (sparkutil, codegen cache).
_LATEST = "_latest_plausible"
_SORTABLE = "yyyy-MM-dd'T'HH:mm:ss.SSSSSS'Z'"  # fixed width (extracted_at has a 4-digit year): sorts as time
_ENVELOPE_WITH_CORRUPT = StructType([*ENVELOPE.fields, StructField(CORRUPT_COLUMN, StringType(), True)])
_DETAIL_CHARS = 200
# The longest raw object (JSON text, in characters) the transform parses; a longer one is ``too_large``.
# The same bound as the runtime's check of the inflated bytes before the read (transform/bounds.py: 2x the
# ~31 MB of Spotify's largest playlist); here it holds for a reader that cannot check before (Glue's).
MAX_RECORD_CHARS = MAX_INFLATED_BYTES
# Jackson 2.15 (Spark 3.5's JSON parser) refuses any string longer than 20,000,000 characters by default
# (StreamReadConstraints), and Spark's from_json, reading a string field or copying a value's text, then
# fails the whole record: a valid 31 MB object came out as ``not_json``. Spark's JSON option
# ``maxStringLen`` raises it; the record limit above bounds it instead.
# https://github.com/apache/spark/pull/51235 (the option, and the 20M default it works around)
_PARSE_OPTIONS = {"maxStringLen": str(MAX_RECORD_CHARS)}
_JSON_OPTIONS = {"mode": "PERMISSIVE", "columnNameOfCorruptRecord": CORRUPT_COLUMN, **_PARSE_OPTIONS}

_REPLACEMENT = "\ufffd"
# Whether a parsed string starts like a structure (``string_may_hold_structure``), a column of its own: in a
# projection Spark evaluates the common prefixes of its 53 string paths (``items.track``, ``items.track.album``
# ...) once per object; inside a branch of the reason's CASE WHEN it evaluates every path from the envelope
# (no common subexpression elimination in a branch that may not run). Measured in docs/performance.md,
# "Where a cold full M run and the suite spend their CPU".
_MAY_HOLD_STRUCTURE = "_may_hold_structure"


def parse_extracted_at(column: Column) -> Column:
    """ISO-8601 UTC with ``Z``, with or without fractional seconds; anything else is null."""
    text = F.trim(column)
    return F.when(
        text.rlike(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z$"),
        # try_: a well-shaped impossible instant (month 13) is null on Spark 3.5 and 4 (ANSI mode) alike.
        F.try_to_timestamp(F.regexp_replace(text, "Z$", ""), F.lit("yyyy-MM-dd'T'HH:mm:ss[.SSSSSS]")),
    )


def _snippet(column: Column) -> Column:
    return F.substring(F.regexp_replace(column, r"\s+", " "), 1, _DETAIL_CHARS)


def count_lines(lines_df: DataFrame) -> DataFrame:
    """For a read that yields one row per LINE (Glue's reader): ``(source_file, lines, value)`` per object,
    ``lines`` its non-blank lines and ``value`` the first of them (null when there is none)."""
    non_blank = F.trim(F.col("value")) != ""
    return lines_df.groupBy("source_file").agg(
        F.count(F.when(non_blank, F.lit(1))).alias("lines"),
        F.first(F.when(non_blank, F.col("value")), ignorenulls=True).alias("value"),
    )


def count_lines_whole(objects_df: DataFrame) -> DataFrame:
    """For a read that yields one row per OBJECT (its whole text, the local reader): the same rows as
    ``count_lines``, counted inside the row instead of by a ``groupBy(source_file)`` that would move every
    object's text across a shuffle."""
    lines = F.filter(F.split(F.col("value"), "\n"), lambda line: F.trim(line) != "")
    return objects_df.select(
        # try_element_at: an object of blank lines has no line 1, which raises in ANSI mode (Spark 4's default).
        "source_file",
        F.size(lines).alias("lines"),
        F.try_element_at(lines, F.lit(1)).alias("value"),
    )


def _parsed(value: Column) -> Column:
    """``value`` parsed once with the explicit envelope schema (and the corrupt-record column)."""
    return F.from_json(value, _ENVELOPE_WITH_CORRUPT, _JSON_OPTIONS)


def _implausible(extracted_at: Column) -> Column:
    """Before Spotify's launch, or after the run's latest plausible moment (column ``_LATEST``, null: no
    upper bound)."""
    earliest = F.lit(iso_z(EARLIEST_EXTRACTED_AT).replace("T", " ").rstrip("Z")).cast("timestamp")
    latest = F.concat(F.substring(F.col(_LATEST), 1, 19), F.lit(".000000Z"))
    return (extracted_at < earliest) | F.coalesce(
        F.date_format(extracted_at, _SORTABLE) > latest, F.lit(False)
    )


def _reason(envelope: Column, value: Column, extracted_at: Column) -> Column:
    """The first quarantine reason that applies to a parsed record, or null when it is valid (the record's
    column ``_MAY_HOLD_STRUCTURE`` says whether a parsed string starts like a structure)."""
    corrupt = envelope[CORRUPT_COLUMN].isNotNull()
    trimmed = F.ltrim(value)
    # Any JSON value parses as the value of a one-field object; malformed text does not.
    is_json_value = F.from_json(
        F.concat(F.lit('{"v":'), value, F.lit("}")), "map<string,string>", _PARSE_OPTIONS
    ).isNotNull()
    is_object = trimmed.startswith("{") & F.from_json(value, "map<string,string>", _PARSE_OPTIONS).isNotNull()
    version = envelope["schema_version"]
    return (
        F.when(value.contains(_REPLACEMENT), F.lit("not_utf8"))
        .when(envelope.isNull(), F.lit("not_json"))
        .when(corrupt & ~trimmed.startswith("{") & is_json_value, F.lit("not_an_object"))
        .when(corrupt & ~is_object, F.lit("not_json"))
        .when(
            version.isNull() | ~version.isin(*SUPPORTED_SCHEMA_VERSIONS), F.lit("unsupported_schema_version")
        )
        .when(
            envelope["playlist"]["id"].isNull() | (F.trim(envelope["playlist"]["id"]) == ""),
            "missing_playlist_id",
        )
        .when(extracted_at.isNull(), F.lit("bad_extracted_at"))
        .when(_implausible(extracted_at), F.lit("implausible_extracted_at"))
        .when(envelope["items"].isNull(), F.lit("items_not_array"))
        .when(F.size(envelope["items"]) > MAX_ITEMS, F.lit("too_many_items"))
        .when(
            F.exists(
                F.map_values(F.coalesce(envelope["artists_fetched_at"], F.create_map())),
                lambda moment: parse_extracted_at(moment).isNull(),
            ),
            F.lit("bad_artists_fetched_at"),
        )
        .when(F.exists(F.coalesce(envelope["items"], F.array()), _bad_added_at), F.lit("bad_added_at"))
        .when(
            corrupt | (F.col(_MAY_HOLD_STRUCTURE) & value.rlike(STRING_KEY_HOLDS_STRUCTURE_SCAN)),
            F.lit("schema_mismatch"),
        )
    )


def _bad_added_at(item: Column) -> Column:
    """An ``added_at`` that the table's own parse (tables.playlist_items) would turn into null."""
    return item["added_at"].isNotNull() & F.try_to_timestamp(item["added_at"]).isNull()


def _first_bad_added_at(envelope: Column) -> Column:
    """``items[<i>].added_at="<text>"`` of the first item whose added_at is not a time."""
    found = F.filter(
        F.transform(
            F.coalesce(envelope["items"], F.array()),
            lambda item, i: F.when(
                _bad_added_at(item), F.format_string('items[%d].added_at="%s"', i, item["added_at"])
            ),
        ),
        lambda text: text.isNotNull(),
    )
    return F.try_element_at(found, F.lit(1))


def _not_utf8_detail(value: Column) -> Column:
    key = F.regexp_extract(value, '"([^"\\\\]{1,100})"\\s*:\\s*"[^"]*' + _REPLACEMENT, 1)
    return F.when(
        key != "",
        F.concat(F.lit("the value of key "), key, F.lit(" holds bytes that are not UTF-8 (read as U+FFFD)")),
    ).otherwise(
        F.format_string(
            "the text holds bytes that are not UTF-8 (read as U+FFFD) at character %d",
            F.instr(value, _REPLACEMENT),
        )
    )


def _raw_field(value: Column, name: str) -> Column:
    """The JSON text of a top-level scalar field as written (quotes kept), for messages; null when absent."""
    found = F.regexp_extract(value, rf'"{name}"\s*:\s*("[^"]*"|[^,}}\s]+)', 1)
    return F.when(found != "", found)


def _field_detail(label: str, found: Column, expectation: str) -> Column:
    """The detail of a field with a bad value: ``<label><what it holds, or <missing>>; <expectation>``."""
    return F.concat(F.lit(label), F.coalesce(found, F.lit("<missing>")), F.lit(f"; {expectation}"))


def _detail(reason: Column, envelope: Column, value: Column, lines: Column, max_chars: int) -> Column:
    """A message that says what was wrong, for a person reading the quarantine: the one of the record's reason
    (the reasons taken in the order of ``reasons.py``)."""
    messages = _messages(envelope, value, lines, max_chars)
    first, *rest = [name for name in VALIDATION_REASONS if name in messages]
    detail = F.when(reason == first, messages[first])
    for name in rest:
        detail = detail.when(reason == name, messages[name])
    return detail


def _messages(envelope: Column, value: Column, lines: Column, max_chars: int) -> dict[str, Column]:
    """Each reason's message, a Column of the record's text (forms as ``reasons.py`` documents them)."""
    versions = ", ".join(str(v) for v in SUPPORTED_SCHEMA_VERSIONS)
    plausible = F.concat(
        F.lit(f"from {iso_z(EARLIEST_EXTRACTED_AT)} (Spotify's launch) "),
        F.coalesce(
            F.concat(
                F.lit("to "),
                F.col(_LATEST),
                F.lit(f" (the run's clock + {FUTURE_TOLERANCE})"),
            ),
            F.lit("on"),
        ),
    )
    structure_key = F.regexp_extract(value, STRING_KEY_HOLDS_STRUCTURE, 1)
    extracted_at = _raw_field(value, "extracted_at")
    iso = "expected ISO-8601 UTC like 2026-11-22T03:00:05Z"
    return {
        "empty": F.lit("the object holds no JSON line"),
        "multiple_records": F.format_string(
            "%d non-blank lines; a raw object holds exactly one JSON line (docs/design.md s.2)", lines
        ),
        "too_large": F.format_string(
            f"the JSON text is %d characters; the transform parses objects of at most {max_chars:,}",
            F.length(value),
        ),
        "not_utf8": _not_utf8_detail(value),
        "not_json": F.concat(F.lit("not valid JSON: "), _snippet(value)),
        "not_an_object": F.concat(F.lit("JSON value is not an object: "), _snippet(value)),
        "unsupported_schema_version": _field_detail(
            "schema_version=",
            _raw_field(value, "schema_version"),
            f"this job reads schema_version {versions}",
        ),
        "missing_playlist_id": F.lit("playlist.id is missing or empty"),
        "bad_extracted_at": _field_detail("extracted_at=", extracted_at, iso),
        "implausible_extracted_at": F.concat(
            F.lit("extracted_at="),
            F.coalesce(extracted_at, F.lit("<missing>")),
            F.lit("; a plausible extraction time is "),
            plausible,
        ),
        "items_not_array": _field_detail(
            "items is ", _snippet(F.get_json_object(value, "$.items")), "expected an array of playlist items"
        ),
        "too_many_items": F.format_string(
            f"the observation has %d items; a Spotify playlist holds at most {MAX_ITEMS:,}",
            F.size(envelope["items"]),
        ),
        "bad_artists_fetched_at": _field_detail(
            "artists_fetched_at holds ",
            _snippet(F.get_json_object(value, "$.artists_fetched_at")),
            "expected artist id -> ISO-8601 UTC like 2026-11-22T03:00:05Z",
        ),
        "bad_added_at": F.concat(
            _first_bad_added_at(envelope), F.lit("; expected an ISO-8601 time like 2026-11-22T03:00:05Z")
        ),
        "schema_mismatch": F.when(
            structure_key != "",
            F.concat(
                F.lit("a "),
                structure_key,
                F.lit(" field holds a JSON object or array; the envelope schema expects a string"),
            ),
        ).otherwise(wrong_type_detail(value)),
    }


def check_raw_objects(
    raw_df: DataFrame,
    whole_objects: bool = False,
    latest_extracted_at: datetime | None = None,
    max_record_chars: int = MAX_RECORD_CHARS,
) -> DataFrame:
    """One row per raw object: its observation columns, and ``reason``/``detail`` (null when valid).

    ``raw_df`` is ``(source_file, value)``: one row per line, or with ``whole_objects`` one row per
    object holding its whole text. This is the single parse of the run: persist it, then take
    ``observations_of`` and ``rejects_of``. ``latest_extracted_at`` is the upper bound of a plausible
    ``extracted_at`` (``plausibility.latest_plausible`` of the run's clock); None checks the lower only.
    An object whose text is longer than ``max_record_chars`` is ``too_large``.
    """
    counted_df = count_lines_whole(raw_df) if whole_objects else count_lines(raw_df)
    latest = None if latest_extracted_at is None else iso_z(latest_extracted_at)
    record, envelope, extracted_ts, may_hold_structure, reason, checked = _check_columns(max_record_chars)
    # One projection for every verdict, "empty" and "multiple_records" included: a union of the one-line
    # objects with the others would read (and, locally, inflate) every raw object twice.
    return (
        counted_df.select("source_file", "lines", record, F.lit(latest).cast("string").alias(_LATEST))
        .select("*", envelope)
        .select("*", extracted_ts, may_hold_structure)
        .select("*", reason)
        .select(*checked)
    )


@per_jvm
def _check_columns(max_record_chars: int) -> tuple[Column, Column, Column, Column, Column, list[Column]]:
    """The columns of :func:`check_raw_objects`, built once per bound (``jvm_cache``): the record (the
    object's one line; null for an object of none or several), the parse, the extraction time, whether a
    parsed string starts like a structure (``_MAY_HOLD_STRUCTURE``), the reason, and the checked row. The run's
    latest plausible moment is the column ``_LATEST`` of the records, so the same columns serve every run."""
    envelope, lines = F.col("envelope"), F.col("lines")
    # A character is 1-4 bytes of UTF-8, so a text of at most max_record_chars bytes is within the bound;
    # counting the characters, a scan of the whole text (1.4 s of 2 cores for make bench's M tier's 571 MB),
    # is left for a text of more bytes than that. ``&`` stops at its first false operand.
    too_long = (F.octet_length("value") > max_record_chars) & (F.length("value") > max_record_chars)
    reason = (
        F.when(lines == 0, F.lit("empty"))
        .when(lines != 1, F.lit("multiple_records"))
        .when(too_long, F.lit("too_large"))
        .otherwise(_reason(envelope, F.col("value"), F.col("extracted_ts")))
    )
    checked = [
        F.col("source_file"),
        F.col("reason"),
        _detail(F.col("reason"), envelope, F.col("value"), lines, max_record_chars).alias("detail"),
        F.col("extracted_ts").alias("extracted_at"),
        F.date_format("extracted_ts", "yyyy-MM-dd").alias("snapshot_date"),
        envelope["market"].alias("market"),
        envelope["playlist"].alias("playlist"),
        envelope["items"].alias("items"),
        F.coalesce(envelope["artists"], F.array().cast(OBSERVATION["artists"].dataType)).alias("artists"),
    ]
    return (
        F.when(lines == 1, F.col("value")).alias("value"),
        _parsed(F.col("value")).alias("envelope"),
        parse_extracted_at(envelope["extracted_at"]).alias("extracted_ts"),
        string_may_hold_structure(envelope).alias(_MAY_HOLD_STRUCTURE),
        reason.alias("reason"),
        checked,
    )


def observations_of(checked_df: DataFrame) -> DataFrame:
    """The valid observations (schema ``OBSERVATION``)."""
    return checked_df.where(F.col("reason").isNull()).select(*OBSERVATION.fieldNames())


def rejects_of(checked_df: DataFrame) -> DataFrame:
    """The rejected objects: ``source_file, reason, detail``."""
    return checked_df.where(F.col("reason").isNotNull()).select("source_file", "reason", "detail")
