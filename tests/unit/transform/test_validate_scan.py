"""The fast scan for "a string key holds an object or array" finds exactly what the plain pattern finds.

``validate`` runs the scan over the whole text of an object one of whose parsed strings starts like a structure
(``envelope_keys.string_may_hold_structure``); the plain pattern names the key in the quarantine's detail. Both
run on Java's regex engine, so the test compares them in Spark.
"""

from __future__ import annotations

from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from spotify_etl.transform.envelope_keys import STRING_KEY_HOLDS_STRUCTURE, STRING_KEY_HOLDS_STRUCTURE_SCAN

TEXTS = [
    '{"name": {"text": "x"}}',
    '{"name" :\n [1]}',
    '{"items": [{"track": {"uri": {"a": 1}}}]}',
    '{"display_name": ["a"]}',
    '{"a_long_key_of_thirty_characters": "x", "release_date_precision"  \t :\n  {}}',
    '{"myname": {"a": 1}}',
    '{"names": [1], "name": "ok"}',
    '{"description": "say \\"name\\":{ twice"}',
    '{"id": "p1", "type": "track", "url": "[x]"}',
    '{"name": "{}", "uri": "[]"}',
    '{"release_date_precision": {}}',
    '{"release_date": "1999", "release_date_precision": "year"}',
    "",
]


def test_the_scan_matches_the_same_texts_as_the_plain_pattern(spark: SparkSession) -> None:
    rows = (
        spark.createDataFrame([(t,) for t in TEXTS], "value string")
        .select(
            "value",
            F.col("value").rlike(STRING_KEY_HOLDS_STRUCTURE).alias("plain"),
            F.col("value").rlike(STRING_KEY_HOLDS_STRUCTURE_SCAN).alias("scan"),
        )
        .collect()
    )

    assert [(r.value, r.scan) for r in rows] == [(r.value, r.plain) for r in rows]
    assert [r.value for r in rows if r.plain] == [*TEXTS[:5], TEXTS[10]]
