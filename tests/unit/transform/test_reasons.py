"""The quarantine reasons are one list (spotify_etl/transform/reasons.py): the docs and the code follow it.

Like the README's layout table (tests/infra/test_readme_layout.py): docs/transform.md's reasons table is the
list rendered, and the reasons the reader and the write isolation record are entries of it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from spotify_etl.transform import isolate, raw_objects
from spotify_etl.transform.reasons import REASON_NAMES, REASONS, docs_table, quarantine_reason

REPO = Path(__file__).resolve().parents[3]


def test_docs_transform_md_has_the_reasons_table_of_the_list() -> None:
    text = (REPO / "docs" / "transform.md").read_text(encoding="utf-8")
    start = text.find("| reason | when |")
    table = text[start : text.find("\n\n", start) + 1]

    assert start >= 0 and table == docs_table(), (
        f"docs/transform.md's reasons table should be:\n{docs_table()}"
    )


def test_names_are_unique_and_every_reason_says_when_and_what():
    assert len(set(REASON_NAMES)) == len(REASONS)
    assert all(r.when and r.details for r in REASONS)


def test_the_reader_and_the_write_isolation_record_reasons_of_the_list_with_details_of_their_form():
    assert quarantine_reason(raw_objects.NOT_RAW_REASON).matches(raw_objects.NOT_RAW_DETAIL)
    assert quarantine_reason(isolate.UNWRITABLE).matches(isolate.describe_write_error(ValueError("boom")))
    assert quarantine_reason("unreadable").found_by == "reader"


def test_a_detail_of_another_form_does_not_match():
    assert not quarantine_reason("missing_playlist_id").matches("playlist.id is fine")
    with pytest.raises(KeyError, match="unknown quarantine reason 'bad_vibes'"):
        quarantine_reason("bad_vibes")
