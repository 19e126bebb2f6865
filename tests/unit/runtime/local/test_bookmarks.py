"""The local bookmark keeps Glue's semantics: high-water mark + names inside the band, atomic commits."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from spotify_etl.runtime.local.bookmarks import BookmarkError, LocalBookmarkStore, ObjectVersion

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


# --- robustness: a corrupt state, a rewind, the warnings -------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        '{"high_water_ms": "soon", "band": []}',  # a non-numeric mark (was a bare TypeError later)
        '{"high_water_ms": 1.5e12, "band": []}',
        '{"high_water_ms": 1, "band": [{"uri": "x"}]}',
        "[1, 2]",
        "{not json",
    ],
)
def test_a_corrupt_state_is_one_bookmark_error(store: LocalBookmarkStore, text: str) -> None:
    store.path.parent.mkdir(parents=True)
    store.path.write_text(text)
    with pytest.raises(BookmarkError, match=r"is corrupt \(.*\); reset it with 'spotify-etl bookmark reset"):
        store.select([obj("a", 1)], "job-bookmark-enable")


def test_rewind_makes_objects_after_the_new_mark_new_again(store: LocalBookmarkStore) -> None:
    early, middle, late = obj("early", 0), obj("middle", 3600), obj("late", 7200)
    store.commit([early, middle, late], NOW)
    assert store.select([early, middle, late], "job-bookmark-enable") == []

    state = store.rewind(middle.modified_ms)

    # middle was committed 2 hours below the old mark: its name had left the band. Inside the band below
    # the new mark and not named, it is read again too (the band rule); re-reading is harmless (merge).
    assert (state.high_water_ms, state.band) == (middle.modified_ms, {})
    assert store.select([early, middle, late], "job-bookmark-enable") == [middle, late]
    store.commit([middle, late], NOW)
    assert store.rewind(late.modified_ms - 60 * SECOND).band == {}  # late is after the new mark: forgotten
    assert store.select([early, middle, late], "job-bookmark-enable") == [late]


def test_rewind_refuses_to_move_forward_or_to_rewind_nothing(store: LocalBookmarkStore) -> None:
    with pytest.raises(
        BookmarkError, match=r"no bookmark at .*: the next run reads every raw object already"
    ):
        store.rewind(0)
    store.commit([obj("a", 10)], NOW)
    with pytest.raises(BookmarkError, match=r"--to .* is after the mark .*: a rewind only moves it back"):
        store.rewind(obj("a", 11).modified_ms)


def test_warnings_name_a_mark_ahead_of_the_newest_object_and_of_the_clock(store: LocalBookmarkStore) -> None:
    from spotify_etl.runtime.local.bookmarks import mark_warnings

    listed = [obj("a", 10)]
    store.commit(listed, NOW)
    assert mark_warnings(store.load(), listed, NOW) == []
    assert mark_warnings(store.load(), [obj("a", 10), obj("b", 20)], NOW) == []

    ahead = obj("future", 10**6)  # a mark set by an object whose clock ran far ahead, since deleted
    store.commit([ahead], NOW)
    mark = datetime.fromtimestamp(ahead.modified_ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    newest = datetime.fromtimestamp(listed[0].modified_ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    hint = (
        "objects modified before it are never read; see 'spotify-etl audit' and 'spotify-etl bookmark rewind'"
    )
    assert mark_warnings(store.load(), listed, datetime(2023, 11, 14, tzinfo=UTC)) == [
        f"the bookmark's mark {mark} is ahead of the newest raw object ({newest}); {hint}",
        f"the bookmark's mark {mark} is ahead of the clock (2023-11-14T00:00:00Z); {hint}",
    ]


def test_cli_bookmark_commands_exit_2_with_one_line_on_a_corrupt_state(tmp_path, capsys) -> None:
    from spotify_etl.cli import main

    path = tmp_path / "_bookmarks" / "spotify-transform-playlists" / "raw_playlists.json"
    path.parent.mkdir(parents=True)
    path.write_text('{"high_water_ms": "soon", "band": []}')
    (tmp_path / "raw").mkdir()
    for command in (["bookmark", "show"], ["bookmark", "rewind", "--to", "2026-11-20"], ["transform"]):
        assert main([*command, "--lake", str(tmp_path)]) == 2, command
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "is corrupt (ValueError: high_water_ms is 'soon'" in err, err
    assert main(["bookmark", "reset", "--lake", str(tmp_path)]) == 0  # the way out works
    assert not path.exists()


def test_cli_rewind_moves_the_mark_back(tmp_path, capsys) -> None:
    from spotify_etl.cli import main

    store = LocalBookmarkStore(tmp_path / "_bookmarks", "spotify-transform-playlists", "raw_playlists")
    store.commit(
        [ObjectVersion("file:///raw/a.json.gz", int(datetime(2026, 11, 21, tzinfo=UTC).timestamp() * 1000))]
    )
    assert main(["bookmark", "rewind", "--lake", str(tmp_path), "--to", "2026-11-20T12:00:00Z"]) == 0
    assert store.load().high_water_ms == int(datetime(2026, 11, 20, 12, tzinfo=UTC).timestamp() * 1000)
    assert "high-water mark 2026-11-20T12:00:00Z" in capsys.readouterr().out
    assert main(["bookmark", "rewind", "--lake", str(tmp_path)]) == 2
    assert capsys.readouterr().err == "spotify-etl bookmark: rewind needs --to TIME\n"


def test_a_run_with_nothing_new_still_warns_of_a_mark_that_hides_objects(tmp_path, capsys) -> None:
    """With nothing new the local transform starts no Spark, and must still say why nothing is new."""
    import os

    from spotify_etl.cli import main
    from spotify_etl.lake import LakeLayout, local_path

    layout = LakeLayout.from_lake(tmp_path)
    landed = local_path(layout.raw_objects) / "ingest_date=2026-11-20" / "playlist_id=p1" / "a.json.gz"
    landed.parent.mkdir(parents=True)
    landed.write_bytes(b"")
    os.utime(landed, ns=(1_700_000_000_000_000_000, 1_700_000_000_000_000_000))
    store = LocalBookmarkStore(layout.bookmarks, "spotify-transform-playlists", "raw_playlists")
    # landed by a clock running an hour ahead (beyond the 15-minute band), since deleted
    ahead = ObjectVersion("file:///gone/b.json.gz", 1_700_003_600_000)
    store.commit([ahead], NOW)

    assert main(["transform", "--lake", str(tmp_path)]) == 0

    hint = (
        "objects modified before it are never read; see 'spotify-etl audit' and 'spotify-etl bookmark rewind'"
    )
    warnings = [line for line in capsys.readouterr().out.splitlines() if line.startswith("warning: ")]
    assert warnings == [
        "warning: the bookmark's mark 2023-11-14T23:13:20Z is ahead of the newest raw object "
        f"(2023-11-14T22:13:20Z); {hint}"
    ]
