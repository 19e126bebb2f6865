"""The envelope schema's keys by kind, and how a raw object's text shows a key holding the wrong kind.

Spark's JSON reader, in PERMISSIVE mode, rejects a record whose value does not fit the schema without saying
which key; and it does not reject a key the schema reads as a string holding an object or an array (it keeps
the value's JSON text). These regexes name the key, for the ``schema_mismatch`` reason and its detail
(``validate.py``). Each is evaluated only on a rejected object's text, except
``STRING_KEY_HOLDS_STRUCTURE_SCAN``, which the validation runs on the text of an object whose parsed strings
hold one that starts like a structure (``string_may_hold_structure``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from pyspark.sql import Column
from pyspark.sql import functions as F
from pyspark.sql.types import ArrayType, BooleanType, DataType, LongType, MapType, StringType, StructType

from spotify_etl.transform.schema import ENVELOPE


def string_fields(schema: StructType) -> Iterator[tuple[tuple[str, bool], ...]]:
    """Every string field at any depth of ``schema`` (through structs and arrays of structs; an array of strings
    is no string field: "genres": [ is right), as its path: per step, the key and whether it holds an array."""
    for schema_field in schema.fields:
        dtype = schema_field.dataType
        if isinstance(dtype, StringType):
            yield ((schema_field.name, False),)
        in_array = isinstance(dtype, ArrayType)
        while isinstance(dtype, ArrayType):
            dtype = dtype.elementType
        if isinstance(dtype, StructType):
            for path in string_fields(dtype):
                yield ((schema_field.name, in_array), *path)


def string_keys(schema: StructType) -> set[str]:
    """Names of the string fields at any depth of ``schema`` (``string_fields``).

    A name that is a string in one place and a structure in another would be ambiguous: none is, and
    ``tests/unit/transform/test_validate.py`` checks it."""
    return {path[-1][0] for path in string_fields(schema)}


# A key the envelope schema reads as a string, holding an object or array in the raw text. Spark's JSON
# reader would not reject it: it stores the value's JSON text as the string (a playlist name that reads
# '{"a":1}'). No Spotify object uses these keys for anything but strings (or null). Inside a JSON string
# the quotes are escaped (\"name\":{), so text inside a value never matches.
STRING_KEYS = sorted(string_keys(ENVELOPE))
STRING_KEY_HOLDS_STRUCTURE = r'"(' + "|".join(STRING_KEYS) + r')"\s*:\s*[\[{]'
# The same matches, for the scan of every valid object's whole text (578 MB at make bench's M tier): at each
# quote, a possessive run of at most the longest key's length to the next quote, then ``: {`` or ``: [``,
# before the 18 names are tried; most quotes fail that in a few characters (a key followed by a string or a
# number, a value's opening quote), so the names are tried only before an object or an array.
STRING_KEY_HOLDS_STRUCTURE_SCAN = (
    r'"(?=[^"\\]{1,' + str(max(map(len, STRING_KEYS))) + r'}+"\s*:\s*[\[{])' + STRING_KEY_HOLDS_STRUCTURE[1:]
)


# Joins the parsed strings of an object for the test below: a separator that then precedes "{" or "[" is a
# string that starts like a structure (or a string holding the separator: a false alarm, which the scan of
# the raw text then clears).
_JOINED = "\u0001"


def string_may_hold_structure(envelope: Column) -> Column:
    """Whether a string field of ``envelope`` (an object parsed with the envelope schema), at any depth, starts with ``{`` or ``[``.

    Spark's parser keeps an object or array under a string key as its JSON text, which starts with ``{`` or
    ``[``; so an object whose parsed strings hold none cannot have one, and only the others need the scan of
    their raw text (``STRING_KEY_HOLDS_STRUCTURE_SCAN``), which costs about as much as the parse. The test
    is one Spark expression without lambdas: the strings, gathered through the arrays of structs
    (``items.track.artists.name`` ...), joined by a separator and searched for it before ``{`` or ``[``. When
    the scan runs it reads the whole text, so it also finds such a key where the schema reads nothing (an
    unknown field); when it does not, that key is not looked at: its value reaches no table.
    """
    joined = F.concat(F.lit(_JOINED), F.concat_ws(_JOINED, *_strings(envelope)))
    return joined.contains(_JOINED + "{") | joined.contains(_JOINED + "[")


def _strings(envelope: Column) -> list[Column]:
    """Each string field of ``envelope`` (``string_fields`` of the envelope schema): a string, or below an array
    an array of strings."""
    found: list[Column] = []
    for path in string_fields(ENVELOPE):
        value, in_array = envelope, False
        for key, holds_array in path:
            value = value[key]
            if holds_array and in_array:
                # flatten is null when any inner array is (an item without a track, a track without an album,
                # an album without images): drop those first, or every string below would go unseen.
                value = F.flatten(F.array_compact(value))
            in_array = in_array or holds_array
        found.append(value)
    return found


def _keys_where(schema: StructType, wanted: Callable[[DataType], bool]) -> set[str]:
    """Names of the fields at any depth of ``schema`` whose type satisfies ``wanted``."""
    keys: set[str] = set()
    for schema_field in schema.fields:
        if wanted(schema_field.dataType):
            keys.add(schema_field.name)
        dtype = schema_field.dataType
        while isinstance(dtype, ArrayType):
            dtype = dtype.elementType
        if isinstance(dtype, StructType):
            keys |= _keys_where(dtype, wanted)
    return keys


# For every non-string kind of the envelope schema: what it expects, its keys, and a regex of a value that
# fits (what follows the key's colon). A key whose value does not fit is the one Spark's parser refused. The
# blanks before the value are taken possessively (``\s*+``): else the regex backtracks into them and "fits"
# no longer starts at the value.
_KINDS = (
    ("an integer", lambda t: isinstance(t, LongType), r"-?\d{1,18}(?![\d.eE])|null\b"),
    ("true or false", lambda t: isinstance(t, BooleanType), r"(?:true|false|null)\b"),
    # A track object also carries boolean flags named "track" and "episode", the item's field names.
    ("a JSON object", lambda t: isinstance(t, StructType | MapType), r"\{|(?:null|true|false)\b"),
    ("an array", lambda t: isinstance(t, ArrayType), r"\[|null\b"),
)
KIND_KEYS = {label: _keys_where(ENVELOPE, wanted) for label, wanted, _ in _KINDS}
_WRONG_TYPE = [
    (label, r'"(' + "|".join(sorted(KIND_KEYS[label])) + r')"\s*:\s*+(?!' + fits + r")([^,}\]]{0,40})")
    for label, _, fits in _KINDS
]


def wrong_type_detail(value: Column) -> Column:
    """``key "<key>" holds <value>; the envelope schema expects <kind>`` for the first key whose value does
    not fit its kind (a few regexes, evaluated only for a rejected object)."""
    details = [
        F.when(
            F.regexp_extract(value, pattern, 1) != "",
            F.format_string(
                f'key "%s" holds %s; the envelope schema expects {label}',
                F.regexp_extract(value, pattern, 1),
                F.trim(F.regexp_extract(value, pattern, 2)),
            ),
        )
        for label, pattern in _WRONG_TYPE
    ]
    return F.coalesce(*details, F.lit("a field has a JSON type the envelope schema does not allow"))
