"""The local bookmark keeps Glue's semantics: high-water mark + names inside the band, atomic commits."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from spotify_etl.local.bookmarks import BookmarkError, LocalBookmarkStore, ObjectVersion

NOW = datetime(2026, 11, 22, 3, 0, tzinfo=UTC)
SECOND = 1000
BAND = 15 * 60 * SECOND


def obj(name: str, second: int) -> ObjectVersion:
    return ObjectVersion(f"file:///raw/{name}.json.gz", 1_700_000_000_000 + second * SECOND)


@pytest.fixture()
def store(tmp_path) -> LocalBookmarkStore:
    return LocalBookmarkStore(tmp_path / "_bookmarks", "job", "raw_playlists", max_band_ms=BAND)


def test_first_run_reads_everything_in_time_order(store: LocalBookmarkStore) -> None:
    objects = [obj("b", 5), obj("a", 5), obj("c", 1)]
    assert store.select(objects, "job-bookmark-enable") == [obj("c", 1), obj("a", 5), obj("b", 5)]


def test_enable_reads_only_new_objects_after_commit(store: LocalBookmarkStore) -> None:
    first = [obj("a", 1), obj("b", 2)]
    store.commit(store.select(first, "job-bookmark-enable"), NOW)
    later = [*first, obj("c", 3)]
    assert store.select(later, "job-bookmark-enable") == [obj("c", 3)]


def test_objects_in_the_same_second_are_told_apart_by_name(store: LocalBookmarkStore) -> None:
    store.commit([obj("a", 10)], NOW)
    # b lands in the same second as a, after the run that processed a listed the folder
    assert store.select([obj("a", 10), obj("b", 10)], "job-bookmark-enable") == [obj("b", 10)]


def test_a_late_object_inside_the_band_is_still_read(store: LocalBookmarkStore) -> None:
    store.commit([obj("a", 100)], NOW)
    late = obj("late", 100 - 60)  # modified a minute before the mark, listed only now
    assert store.select([obj("a", 100), late], "job-bookmark-enable") == [late]


def test_objects_older_than_the_band_count_as_processed(store: LocalBookmarkStore) -> None:
    store.commit([obj("a", 10_000)], NOW)
    ancient = obj("ancient", 10_000 - 16 * 60)
    assert store.select([ancient], "job-bookmark-enable") == []


def test_band_names_survive_a_run_with_nothing_new(store: LocalBookmarkStore) -> None:
    store.commit([obj("a", 10)], NOW)
    store.commit([], NOW)
    assert store.select([obj("a", 10), obj("b", 10)], "job-bookmark-enable") == [obj("b", 10)]


def test_names_leave_the_band_once_the_mark_moves_past_it(store: LocalBookmarkStore) -> None:
    store.commit([obj("a", 10)], NOW)
    store.commit([obj("b", 10 + 20 * 60)], NOW)
    state = json.loads(store.path.read_text())
    assert [entry["uri"] for entry in state["band"]] == [obj("b", 0).uri]


def test_disable_reads_everything_and_pause_reads_new_without_moving(store: LocalBookmarkStore) -> None:
    store.commit([obj("a", 1)], NOW)
    objects = [obj("a", 1), obj("b", 2)]
    assert store.select(objects, "job-bookmark-disable") == objects
    assert store.select(objects, "job-bookmark-pause") == [obj("b", 2)]
    assert store.select(objects, "job-bookmark-pause") == [obj("b", 2)]


def test_reset_forgets_everything(store: LocalBookmarkStore) -> None:
    store.commit([obj("a", 1)], NOW)
    assert store.reset() is True
    assert store.select([obj("a", 1)], "job-bookmark-enable") == [obj("a", 1)]
    assert store.reset() is False


def test_commit_is_atomic_and_leaves_no_temporary_files(store: LocalBookmarkStore) -> None:
    store.commit([obj("a", 1)], NOW)
    store.commit([obj("b", 2)], NOW)
    assert sorted(p.name for p in store.path.parent.iterdir()) == ["raw_playlists.json"]
    state = json.loads(store.path.read_text())
    assert (state["high_water_ms"], state["runs"]) == (obj("b", 2).modified_ms, 2)


def test_a_corrupt_state_is_refused_with_what_to_do(store: LocalBookmarkStore) -> None:
    store.path.parent.mkdir(parents=True)
    store.path.write_text("{not json")
    with pytest.raises(BookmarkError, match="bookmark reset"):
        store.select([obj("a", 1)], "job-bookmark-enable")
