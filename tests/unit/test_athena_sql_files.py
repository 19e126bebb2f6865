"""spotify_etl.athena_sql: the one reader of sql/athena (local engine, packaging and deploy all use it)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from spotify_etl.athena_sql import (
    AthenaSqlError,
    SqlFile,
    read_sql_files,
    strip_comments,
    views_in_dependency_order,
)


def _write(root: Path, folder: str, name: str, text: str) -> None:
    (root / folder).mkdir(parents=True, exist_ok=True)
    (root / folder / f"{name}.sql").write_text(text, encoding="utf-8")


def _view(name: str, body: str) -> SqlFile:
    text = f"-- {name}?\nCREATE OR REPLACE VIEW {name} AS {body}\n"
    return SqlFile(kind="view", name=name, path=Path(f"{name}.sql"), text=text, question=f"{name}?")


def test_imports_with_the_standard_library_only() -> None:
    code = (
        "import sys, spotify_etl.athena_sql; "
        "print(sorted(m for m in ('duckdb', 'sqlglot', 'pyspark') if m in sys.modules))"
    )

    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)

    assert result.stdout.strip() == "[]"


def test_files_are_read_verbatim_with_their_question(tmp_path: Path) -> None:
    _write(
        tmp_path, "views", "v", "-- Which rows\n--\n-- are current?\nCREATE OR REPLACE VIEW v AS SELECT 1;\n"
    )
    _write(tmp_path, "queries", "q", "-- How many?\nSELECT count(*) FROM v -- all of them\n")

    files = read_sql_files(tmp_path)

    assert [(f.kind, f.name, f.question) for f in files] == [
        ("view", "v", "Which rows are current?"),
        ("query", "q", "How many?"),
    ]
    assert files[0].text == (tmp_path / "views" / "v.sql").read_text(encoding="utf-8")
    assert files[0].sql == "-- Which rows\n--\n-- are current?\nCREATE OR REPLACE VIEW v AS SELECT 1"
    assert strip_comments(files[1].text) == "\nSELECT count(*) FROM v \n"


def test_a_name_used_by_a_view_and_a_query_is_refused(tmp_path: Path) -> None:
    _write(tmp_path, "views", "same", "-- Which?\nCREATE OR REPLACE VIEW same AS SELECT 1\n")
    _write(tmp_path, "queries", "same", "-- Which?\nSELECT 1\n")

    with pytest.raises(AthenaSqlError, match="names used by more than one file: same"):
        read_sql_files(tmp_path)


def test_a_view_file_creating_another_view_is_refused(tmp_path: Path) -> None:
    _write(
        tmp_path,
        "views",
        "mine",
        "-- Which?\n-- CREATE OR REPLACE VIEW mine AS\nCREATE VIEW mine AS SELECT 1\n",
    )

    with pytest.raises(
        AthenaSqlError, match=r"mine\.sql: a view file must hold `CREATE OR REPLACE VIEW mine AS"
    ):
        read_sql_files(tmp_path)


def test_views_ready_together_come_in_name_order_and_queries_are_left_out() -> None:
    files = [
        _view("b_two", "SELECT * FROM tracks"),
        _view("c_top", "SELECT * FROM b_two JOIN a_one USING (id) -- not d_last"),
        _view("a_one", "SELECT * FROM albums"),
        _view("d_last", "SELECT * FROM c_top"),
        SqlFile(
            kind="query", name="q", path=Path("q.sql"), text="-- q?\nSELECT * FROM d_last", question="q?"
        ),
    ]

    assert [v.name for v in views_in_dependency_order(files)] == ["a_one", "b_two", "c_top", "d_last"]


def test_a_cycle_names_only_the_views_in_it() -> None:
    files = [
        _view("one", "SELECT * FROM two"),
        _view("two", "SELECT * FROM one"),
        _view("three", "SELECT * FROM one"),
    ]

    with pytest.raises(AthenaSqlError, match=r"reference each other in a cycle: \['one', 'two'\]$"):
        views_in_dependency_order(files)
