"""Validation where raw JSON becomes a DataFrame: every quarantine reason, named with a useful detail."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from chispa import assert_df_equality
from pyspark.sql import Row, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import ArrayType, StringType, StructType

from spotify_etl.transform import validate
from spotify_etl.transform.envelope_keys import STRING_KEYS
from spotify_etl.transform.reasons import VALIDATION_REASONS, quarantine_reason
from spotify_etl.transform.schema import ENVELOPE, OBSERVATION
from spotify_etl.transform.validate import check_raw_objects, observations_of, rejects_of
from tests import builders as b

pytestmark = pytest.mark.slow  # a module of slower tests: scheduled first (tests/conftest.py)

GOOD = json.dumps(b.envelope(playlist=b.playlist(id="p1")))
REJECT_SCHEMA = "source_file string, reason string, detail string"
LATEST = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)  # the run's clock + tolerance (plausibility.py)
MAX_CHARS = 60_000  # a small record limit, so that a too_large object stays small in a test
MARKET = '"market": "US"'
PADDED = MARKET + ', "padding": "' + "x" * MAX_CHARS + '"'


def _replace(text: str, old: str, new: str) -> str:
    assert old in text, f"builder output no longer contains {old!r}"
    return text.replace(old, new, 1)


# (lines of one object, reason, detail) -- one case per reason the pure validation names.
CASES = {
    "empty": (["", "   "], "empty", "the object holds no JSON line"),
    "multiple_records": (
        [GOOD, GOOD],
        "multiple_records",
        "2 non-blank lines; a raw object holds exactly one JSON line (docs/design.md s.2)",
    ),
    "not_json": (['{"schema_version": 1,'], "not_json", 'not valid JSON: {"schema_version": 1,'),
    "not_an_object": (["[1, 2]"], "not_an_object", "JSON value is not an object: [1, 2]"),
    "unsupported_schema_version": (
        [_replace(GOOD, '"schema_version": 1', '"schema_version": 2')],
        "unsupported_schema_version",
        "schema_version=2; this job reads schema_version 1",
    ),
    "missing_playlist_id": (
        [_replace(GOOD, '"id": "p1"', '"id": null')],
        "missing_playlist_id",
        "playlist.id is missing or empty",
    ),
    "bad_extracted_at": (
        [_replace(GOOD, '"2026-11-22T03:00:05Z"', '"2026-11-22 03:00:05+01:00"')],
        "bad_extracted_at",
        'extracted_at="2026-11-22 03:00:05+01:00"; expected ISO-8601 UTC like 2026-11-22T03:00:05Z',
    ),
    "too_large": (
        [_replace(GOOD, MARKET, PADDED)],
        "too_large",
        f"the JSON text is {len(GOOD) + len(PADDED) - len(MARKET)} characters; "
        "the transform parses objects of at most 60,000",
    ),
    "implausible_extracted_at": (
        [_replace(GOOD, '"2026-11-22T03:00:05Z"', '"2099-01-01T00:00:00Z"')],
        "implausible_extracted_at",
        'extracted_at="2099-01-01T00:00:00Z"; a plausible extraction time is from 2008-10-07T00:00:00Z '
        "(Spotify's launch) to 2026-11-23T01:00:00Z (the run's clock + 1:00:00)",
    ),
    "items_not_array": (
        [_replace(GOOD, '"items": [', '"items": {"oops": 1}, "was_items": [')],
        "items_not_array",
        'items is {"oops":1}; expected an array of playlist items',
    ),
    "bad_artists_fetched_at": (
        [
            _replace(
                GOOD,
                '"artists_fetched_at": {}',
                '"artists_fetched_at": {"a1": "2026-11-22T03:00:05Z", "a2": "yesterday"}',
            )
        ],
        "bad_artists_fetched_at",
        'artists_fetched_at holds {"a1":"2026-11-22T03:00:05Z","a2":"yesterday"}; '
        "expected artist id -> ISO-8601 UTC like 2026-11-22T03:00:05Z",
    ),
    "too_many_items": (  # null items: 10,001 of them stay far below the record limit of this test
        [_replace(GOOD, '"items": [', '"items": [' + "null," * 10_001)],
        "too_many_items",
        "the observation has 10002 items; a Spotify playlist holds at most 10,000",
    ),
    "schema_mismatch": (
        [_replace(GOOD, '"duration_ms": ', '"duration_ms": "long", "was": ')],
        "schema_mismatch",
        'key "duration_ms" holds "long"; the envelope schema expects an integer',
    ),
    # Spark's text reader turns bytes that are not UTF-8 into U+FFFD: the text it gives holds that
    "not_utf8": (
        [_replace(GOOD, '"name": "Rap RU"', '"name": "Rap \ufffdRU"')],
        "not_utf8",
        "the value of key name holds bytes that are not UTF-8 (read as U+FFFD)",
    ),
    "bad_added_at": (
        [_replace(GOOD, '"added_at": "', '"added_at": "yesterday", "was": "')],
        "bad_added_at",
        'items[0].added_at="yesterday"; expected an ISO-8601 time like 2026-11-22T03:00:05Z',
    ),
}


def _lines(spark: SparkSession, objects: dict[str, list[str]]):
    rows = [(uri, line) for uri, lines in objects.items() for line in lines]
    return spark.createDataFrame(rows, "source_file string, value string")


def _case_folder(case: str) -> str:
    return f"file:///raw/{case}/"


@pytest.fixture(scope="module")
def every_case_checked(spark: SparkSession) -> dict[bool, tuple[list[Row], list[str]]]:
    """Per reader (``whole_objects``), the rejects and the valid objects of every case, checked in one batch:
    each case's bad object and a good one under the case's own folder. Validation judges each object on its
    own, so each case's verdicts are those it gets alone; one parse per reader instead of one per case."""
    objects = {}
    for case, (lines, _, _) in CASES.items():
        objects[_case_folder(case) + "bad.json.gz"] = lines
        objects[_case_folder(case) + "good.json.gz"] = [GOOD]
    verdicts = {}
    for whole_objects in (False, True):
        read = objects
        if whole_objects:  # one row per object holding its whole text, as the local reader gives it
            read = {uri: ["\n".join(object_lines) + "\n"] for uri, object_lines in objects.items()}
        checked = check_raw_objects(
            _lines(spark, read),
            whole_objects=whole_objects,
            latest_extracted_at=LATEST,
            max_record_chars=MAX_CHARS,
        )
        rejects = rejects_of(checked).collect()
        valid = [row.source_file for row in observations_of(checked).collect()]
        verdicts[whole_objects] = (rejects, valid)
    return verdicts


@pytest.mark.parametrize("whole_objects", [False, True], ids=["line_reader", "whole_object_reader"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_each_reason_is_named_and_good_objects_pass(
    spark: SparkSession,
    every_case_checked: dict[bool, tuple[list[Row], list[str]]],
    case: str,
    whole_objects: bool,
) -> None:
    _, reason, detail = CASES[case]
    rejects, valid = every_case_checked[whole_objects]
    folder = _case_folder(case)

    got = spark.createDataFrame([row for row in rejects if row.source_file.startswith(folder)], REJECT_SCHEMA)
    expected = spark.createDataFrame([(folder + "bad.json.gz", reason, detail)], REJECT_SCHEMA)
    assert_df_equality(got, expected, ignore_nullable=True)
    assert [uri for uri in valid if uri.startswith(folder)] == [folder + "good.json.gz"]


def test_every_message_of_the_parse_is_for_a_validation_reason_of_the_list(spark: SparkSession) -> None:
    """The parse names every validation reason, those found when counting an object's lines included."""
    messages = validate._messages(F.col("envelope"), F.col("value"), F.col("lines"), MAX_CHARS)

    assert set(messages) == set(VALIDATION_REASONS)


def test_every_validation_reason_of_the_list_has_a_case_with_a_detail_of_its_form() -> None:
    """The cases above run the validation; here their reasons and details are held to reasons.py."""
    assert sorted(VALIDATION_REASONS) == sorted(CASES)
    for _, reason, detail in CASES.values():
        assert quarantine_reason(reason).matches(detail), (reason, detail)


def test_valid_observation_keeps_provenance_and_date(spark: SparkSession) -> None:
    env = b.envelope(
        playlist=b.playlist(id="p1"), extracted_at=datetime(2026, 11, 21, 23, 59, 59, tzinfo=b.UTC)
    )
    fractional = _replace(json.dumps(env), '"2026-11-21T23:59:59Z"', '"2026-11-22T00:00:00.250Z"')
    checked = check_raw_objects(
        _lines(spark, {"file:///a.json.gz": [json.dumps(env)], "file:///b.json.gz": [fractional]})
    )

    got = observations_of(checked).select(
        "source_file", "extracted_at", "snapshot_date", F.col("playlist.id").alias("playlist_id"), "market"
    )
    expected = spark.createDataFrame(
        [
            ("file:///a.json.gz", datetime(2026, 11, 21, 23, 59, 59), "2026-11-21", "p1", "US"),
            ("file:///b.json.gz", datetime(2026, 11, 22, 0, 0, 0, 250000), "2026-11-22", "p1", "US"),
        ],
        "source_file string, extracted_at timestamp, snapshot_date string, playlist_id string, market string",
    )
    assert_df_equality(got, expected, ignore_nullable=True, ignore_row_order=True)


def test_missing_artists_become_an_empty_array(spark: SparkSession) -> None:
    env = b.envelope(playlist=b.playlist(id="p1"))
    del env["artists"]
    checked = check_raw_objects(_lines(spark, {"file:///a.json.gz": [json.dumps(env)]}))
    assert [r.artists for r in observations_of(checked).collect()] == [[]]


def test_an_extracted_at_before_spotify_existed_is_implausible(spark: SparkSession) -> None:
    old = _replace(GOOD, '"2026-11-22T03:00:05Z"', '"2008-10-06T23:59:59Z"')
    first_day = _replace(GOOD, '"2026-11-22T03:00:05Z"', '"2008-10-07T00:00:00Z"')
    checked = check_raw_objects(
        _lines(spark, {"file:///old.json.gz": [old], "file:///first.json.gz": [first_day]})
    )
    assert [(r.source_file, r.reason) for r in rejects_of(checked).collect()] == [
        ("file:///old.json.gz", "implausible_extracted_at")
    ]
    assert [r.source_file for r in observations_of(checked).collect()] == ["file:///first.json.gz"]


def test_the_record_bound_counts_characters_not_bytes(spark: SparkSession) -> None:
    """A text of exactly the bound in characters is parsed although its UTF-8 takes more bytes than that (a
    two-byte character per padding character), and one character more is too_large."""

    def padded_to(chars: int) -> str:
        text = _replace(GOOD, MARKET, MARKET + ', "padding": "' + '"')
        return _replace(text, '"padding": "', '"padding": "' + "\u00e9" * (chars - len(text)))

    at_bound, over = padded_to(MAX_CHARS), padded_to(MAX_CHARS + 1)
    assert (len(at_bound), len(over)) == (MAX_CHARS, MAX_CHARS + 1)
    assert len(at_bound.encode()) > MAX_CHARS  # the bytes alone would call it too large
    checked = check_raw_objects(
        _lines(spark, {"file:///at.json.gz": [at_bound], "file:///over.json.gz": [over]}),
        max_record_chars=MAX_CHARS,
    )
    assert [(r.source_file, r.reason, r.detail) for r in rejects_of(checked).collect()] == [
        (
            "file:///over.json.gz",
            "too_large",
            f"the JSON text is {MAX_CHARS + 1} characters; the transform parses objects of at most 60,000",
        )
    ]
    assert [r.source_file for r in observations_of(checked).collect()] == ["file:///at.json.gz"]


def test_the_latest_plausible_moment_is_plausible_and_a_microsecond_later_is_not(spark: SparkSession) -> None:
    at_bound = _replace(GOOD, '"2026-11-22T03:00:05Z"', '"2026-11-23T01:00:00Z"')  # LATEST itself
    just_after = _replace(GOOD, '"2026-11-22T03:00:05Z"', '"2026-11-23T01:00:00.000001Z"')
    years_after = _replace(GOOD, '"2026-11-22T03:00:05Z"', '"9999-12-31T23:59:59Z"')
    checked = check_raw_objects(
        _lines(
            spark,
            {
                "file:///at.json.gz": [at_bound],
                "file:///after.json.gz": [just_after],
                "file:///far.json.gz": [years_after],
            },
        ),
        latest_extracted_at=LATEST,
    )
    expected = spark.createDataFrame(
        [
            (
                uri,
                "implausible_extracted_at",
                f"extracted_at={sent}; a plausible extraction time is from "
                "2008-10-07T00:00:00Z (Spotify's launch) to 2026-11-23T01:00:00Z (the run's clock + 1:00:00)",
            )
            for uri, sent in (
                ("file:///after.json.gz", '"2026-11-23T01:00:00.000001Z"'),
                ("file:///far.json.gz", '"9999-12-31T23:59:59Z"'),
            )
        ],
        REJECT_SCHEMA,
    )
    assert_df_equality(rejects_of(checked), expected, ignore_nullable=True, ignore_row_order=True)
    assert [r.source_file for r in observations_of(checked).collect()] == ["file:///at.json.gz"]


@pytest.mark.parametrize(
    ("sent", "key"),
    [('{"text": "Rap RU"}', "name"), ('["Rap", "RU"]', "name"), ('{"id": "owner1"}', "id")],
)
def test_an_object_or_array_where_a_string_belongs_is_a_schema_mismatch(
    spark: SparkSession, sent: str, key: str
) -> None:
    old = '"name": "Rap RU"' if key == "name" else '"id": "p1"'
    bad = _replace(GOOD, old, f'"{key}": {sent}')
    checked = check_raw_objects(_lines(spark, {"file:///bad.json.gz": [bad]}))
    expected = spark.createDataFrame(
        [
            (
                "file:///bad.json.gz",
                "schema_mismatch",
                f"a {key} field holds a JSON object or array; the envelope schema expects a string",
            )
        ],
        REJECT_SCHEMA,
    )
    assert_df_equality(rejects_of(checked), expected, ignore_nullable=True)


def test_a_name_that_reads_like_json_is_kept_as_sent(spark: SparkSession) -> None:
    names = ["[]", "{}", '{"a": 1}', "[Live] {Remastered}", 'say "name":{ twice']
    objects = {
        f"file:///{i}.json.gz": [json.dumps(b.envelope(playlist=b.playlist(id=f"p{i}", name=name)))]
        for i, name in enumerate(names)
    }
    checked = check_raw_objects(_lines(spark, objects))
    got = observations_of(checked).select("source_file", F.col("playlist.name").alias("name"))
    expected = spark.createDataFrame(
        [(f"file:///{i}.json.gz", name) for i, name in enumerate(names)], "source_file string, name string"
    )
    assert_df_equality(got, expected, ignore_nullable=True, ignore_row_order=True)
    assert rejects_of(checked).count() == 0


def test_a_string_longer_than_jacksons_default_limit_is_parsed(spark: SparkSession) -> None:
    # Jackson's default refuses strings over 20,000,000 characters; the transform raises that limit.
    description = "la " * 7_000_001
    env = json.dumps(b.envelope(playlist=b.playlist(id="p1", description=description)))
    # Persisted, as the job does: a query on an unpersisted checked_df gets the parse inlined at each of the
    # reason's references to it, and parses this 21 MB text dozens of times.
    checked = check_raw_objects(_lines(spark, {"file:///long.json.gz": [env]})).persist()
    got = observations_of(checked).select(F.length("playlist.description").alias("n")).collect()
    checked.unpersist()
    assert [row.n for row in got] == [len(description)]


def test_string_keys_are_never_structures_elsewhere_in_the_envelope() -> None:
    from spotify_etl.transform.envelope_keys import string_keys

    def structured(schema: StructType) -> set[str]:
        names: set[str] = set()
        for field in schema.fields:
            dtype = field.dataType
            if isinstance(dtype, StructType | ArrayType):
                names.add(field.name)
            while isinstance(dtype, ArrayType):
                dtype = dtype.elementType
            if isinstance(dtype, StructType):
                names |= structured(dtype)
        return names

    assert "genres" not in string_keys(ENVELOPE)  # an array of strings: "genres": [ is right
    assert string_keys(ENVELOPE) & structured(ENVELOPE) == set()


def test_full_artists_with_genres_are_valid(spark: SparkSession) -> None:
    env = b.envelope(playlist=b.playlist(id="p1"), artists=[b.full_artist(id="a1", genres=["rock", "pop"])])
    checked = check_raw_objects(_lines(spark, {"file:///a.json.gz": [json.dumps(env)]}))
    assert rejects_of(checked).count() == 0
    assert [r.artists[0].genres for r in observations_of(checked).collect()] == [["rock", "pop"]]


# One wrong value per kind of field of the envelope schema, nested at every level the envelope has.
WRONG_TYPES = [
    ('"duration_ms": ', '"duration_ms": 215000.5, "was": ', 'key "duration_ms" holds 215000.5', "an integer"),
    ('"popularity": ', '"popularity": "high", "was": ', 'key "popularity" holds "high"', "an integer"),
    ('"explicit": ', '"explicit": "yes", "was": ', 'key "explicit" holds "yes"', "true or false"),
    ('"public": ', '"public": 1, "was": ', 'key "public" holds 1', "true or false"),
    ('"album": ', '"album": "Fresh", "was": ', 'key "album" holds "Fresh"', "a JSON object"),
    ('"owner": ', '"owner": [1], "was": ', 'key "owner" holds [1', "a JSON object"),
    ('"artists": [{', '"artists": "Royal Blood", "was": [{', 'key "artists" holds "Royal Blood"', "an array"),
]


@pytest.mark.parametrize(("old", "new", "named", "kind"), WRONG_TYPES, ids=[w[2] for w in WRONG_TYPES])
def test_every_schema_mismatch_names_its_key_and_what_it_holds(
    spark: SparkSession, old: str, new: str, named: str, kind: str
) -> None:
    bad = _replace(GOOD, old, new)
    checked = check_raw_objects(_lines(spark, {"file:///bad.json.gz": [bad]}))
    expected = spark.createDataFrame(
        [("file:///bad.json.gz", "schema_mismatch", f"{named}; the envelope schema expects {kind}")],
        REJECT_SCHEMA,
    )
    assert_df_equality(rejects_of(checked), expected, ignore_nullable=True)


def test_no_key_has_two_kinds() -> None:
    from spotify_etl.transform.envelope_keys import KIND_KEYS

    kinds = list(KIND_KEYS.values())
    assert all(not (a & b) for i, a in enumerate(kinds) for b in kinds[i + 1 :])


def _string_paths(schema: StructType, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every string field of ``schema`` at any depth, as a path of keys (through structs and arrays of them,
    an array's key written ``key[]``)."""
    paths: list[tuple[str, ...]] = []
    for field in schema.fields:
        dtype = field.dataType
        if isinstance(dtype, StringType):
            paths.append((*prefix, field.name))
        elif isinstance(dtype, StructType):
            paths += _string_paths(dtype, (*prefix, field.name))
        elif isinstance(dtype, ArrayType) and isinstance(dtype.elementType, StructType):
            paths += _string_paths(dtype.elementType, (*prefix, field.name + "[]"))
    return paths


def _with(envelope: dict[str, Any], path: tuple[str, ...], value: object) -> str:
    """``envelope``'s JSON with ``value`` at ``path`` (in the first element of every array on the way; what
    is missing on the way is created)."""
    node: Any = copy.deepcopy(envelope)
    top = node
    for step in path[:-1]:
        key = step.removesuffix("[]")
        if step.endswith("[]"):
            if not isinstance(node.get(key), list) or not node[key]:
                node[key] = [{}]
            node = node[key][0]
        else:
            if not isinstance(node.get(key), dict):
                node[key] = {}
            node = node[key]
    node[path[-1]] = value
    return json.dumps(top)


def _name(path: tuple[str, ...]) -> str:
    return ".".join(path).replace("[]", "")


# A string path whose structure an earlier check of reasons.py rejects: what that check records instead.
_EARLIER = {("extracted_at",): "bad_extracted_at", ("items[]", "added_at"): "bad_added_at"}
FULL = b.envelope(playlist=b.playlist(id="p1"), artists=[b.full_artist(id="a1", genres=["rock"])])
# Items after the first (where _with puts its value) whose arrays on the way are missing: no track (an
# unavailable item), no album, an album without images or artists. A null array there must not hide the first.
FULL["items"] += [
    {**FULL["items"][0], "item": None, "track": None},
    {**FULL["items"][0], "track": {"id": "t9", "name": "no album"}},
    {**FULL["items"][0], "track": {"id": "t8", "album": {"id": "al8", "name": "bare"}}},
]
STRING_PATHS = _string_paths(ENVELOPE)


def test_a_structure_in_any_string_field_the_schema_reads_is_a_schema_mismatch(spark: SparkSession) -> None:
    # Spark's parser keeps an object or array under a string key as text; the validation finds it at every
    # depth the envelope schema reads, through the arrays of structs (items[].track.album.artists[].name ...).
    objects = {
        f"file:///{_name(path)}.{kind}.json.gz": [_with(FULL, path, sent)]
        for path in STRING_PATHS
        for kind, sent in (("object", {"x": 1}), ("array", ["x"]))
    }
    checked = check_raw_objects(_lines(spark, objects))

    expected = [
        (
            uri,
            _EARLIER.get(path, "schema_mismatch"),
            None
            if path in _EARLIER
            else f"a {path[-1]} field holds a JSON object or array; the envelope schema expects a string",
        )
        for path in STRING_PATHS
        for uri in (f"file:///{_name(path)}.object.json.gz", f"file:///{_name(path)}.array.json.gz")
    ]
    got = rejects_of(checked).select(
        "source_file", "reason", F.when(F.col("reason") == "schema_mismatch", F.col("detail")).alias("detail")
    )
    assert {path[-1] for path in STRING_PATHS} == set(STRING_KEYS)  # every string key, at each of its places
    assert len(STRING_PATHS) == 53  # down to items[].track.album.images[].url
    assert_df_equality(
        got, spark.createDataFrame(expected, REJECT_SCHEMA), ignore_nullable=True, ignore_row_order=True
    )


def test_a_string_that_starts_like_a_structure_is_kept_in_any_field(spark: SparkSession) -> None:
    # The raw text of such an object is scanned for a key holding a structure; none is there: it is valid,
    # and the strings are kept as sent.
    text = '[Live] {2026} "name": {'
    paths = [path for path in STRING_PATHS if path not in _EARLIER]
    objects = {f"file:///{_name(path)}.json.gz": [_with(FULL, path, text)] for path in paths}
    checked = check_raw_objects(_lines(spark, objects))

    assert rejects_of(checked).collect() == []
    kept = observations_of(checked).select(
        "source_file", F.to_json(F.struct("market", "playlist", "items", "artists"))
    )
    carried = {f"file:///{_name(path)}.json.gz" for path in paths if path[0].strip("[]") in OBSERVATION.names}
    rows = kept.collect()
    assert sorted(row.source_file for row in rows) == sorted(objects)
    assert [
        row.source_file for row in rows if row.source_file in carried and json.dumps(text) not in row[1]
    ] == []


def test_the_structure_check_is_a_column_of_its_own_not_a_branch_of_the_reason(spark: SparkSession) -> None:
    # In a branch of the reason's CASE WHEN, Spark evaluates each of the 53 string paths from the envelope; in
    # a projection of its own, their common prefixes once per object (validate._MAY_HOLD_STRUCTURE).
    checked = check_raw_objects(_lines(spark, {"file:///p.json.gz": [json.dumps(FULL)]}))
    plan = checked._jdf.queryExecution().optimizedPlan().toString().splitlines()

    (reason,) = [line for line in plan if " AS reason#" in line]
    (may_hold,) = [line for line in plan if " AS _may_hold_structure#" in line]
    assert "concat_ws" in may_hold and "concat_ws" not in reason
    assert "_may_hold_structure#" in reason.split(" AS reason#")[0]
