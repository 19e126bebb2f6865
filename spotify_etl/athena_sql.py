"""The SQL files of ``sql/athena``, read, checked and ordered in one place.

``sql/athena/views/<name>.sql`` each hold one ``CREATE OR REPLACE VIEW <name> AS ...``;
``sql/athena/queries/<name>.sql`` each hold one analysis query. Every file opens with a ``-- `` comment
stating the question it answers (the named query's description in the template). Three places read
these files: the local engine (:mod:`spotify_etl.aws_twin.athena`), the packaging (one
``AWS::Athena::NamedQuery`` per file) and the deploy (the views, in dependency order). They all use
this module, so a file means the same thing locally and in AWS.

Standard library only (no duckdb, sqlglot or pyspark): the deploy scripts and the Glue side can
import it without the local engine.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from graphlib import CycleError, TopologicalSorter
from pathlib import Path
from typing import Literal

SqlKind = Literal["view", "query"]
KINDS: tuple[SqlKind, ...] = ("view", "query")
FOLDERS: dict[SqlKind, str] = {"view": "views", "query": "queries"}
DEFAULT_SQL_ROOT = Path(__file__).resolve().parents[1] / "sql" / "athena"

_VIEW_DDL = re.compile(
    r"\A\s*CREATE\s+OR\s+REPLACE\s+VIEW\s+(?P<name>[A-Za-z_][A-Za-z0-9_]*)\s+AS\b", re.IGNORECASE
)
_LINE_COMMENT = re.compile(r"--[^\n]*")


class AthenaSqlError(ValueError):
    """A file of ``sql/athena`` is malformed, or the views cannot be ordered; the message says which."""


@dataclass(frozen=True)
class SqlFile:
    """One file of ``sql/athena``.

    Attributes:
        kind: ``"view"`` (a file of ``views/``) or ``"query"`` (a file of ``queries/``).
        name: the file's stem: the view's name, or the query's (and the named query's) name.
        path: where the file is.
        text: the file verbatim, as Athena receives it (named query string, view DDL).
        question: the opening ``-- `` comment block, joined into one line.
    """

    kind: SqlKind
    name: str
    path: Path
    text: str
    question: str

    @property
    def sql(self) -> str:
        """The statement without surrounding blanks and its final ``;`` (to run it locally)."""
        return self.text.strip().rstrip(";").strip()


def strip_comments(sql: str) -> str:
    """``sql`` without its ``--`` line comments, for looking at the statement (never for running it).

    A ``--`` inside a string literal is cut too; the SQL files have none, and the result only serves
    to find the view a file creates and the views it names.
    """
    return _LINE_COMMENT.sub("", sql)


def _question(text: str) -> str:
    lines: list[str] = []
    for line in text.splitlines():
        if not line.startswith("--"):
            break
        lines.append(line[2:].strip())
    return " ".join(line for line in lines if line)


def read_sql_file(path: Path, kind: SqlKind) -> SqlFile:
    """One file, checked: it opens with its question; a view file creates the view it is named after.

    Raises:
        AthenaSqlError: the file does not open with a ``-- `` comment, or a view file does not hold
            ``CREATE OR REPLACE VIEW <its name> AS ...``.
    """
    text = path.read_text(encoding="utf-8")
    if not text.startswith("-- "):
        first = text.splitlines()[0] if text else ""
        raise AthenaSqlError(
            f"{path}: an Athena SQL file must open with a '-- ' comment stating its question\n"
            f"  {path.name}: the first line must be a `-- ` comment; it is {first!r}"
        )
    if kind == "view":
        ddl = _VIEW_DDL.match(strip_comments(text))
        if ddl is None or ddl.group("name") != path.stem:
            raise AthenaSqlError(
                f"{path}: a view file must hold `CREATE OR REPLACE VIEW {path.stem} AS ...` "
                "(after its question comment)"
            )
    return SqlFile(kind=kind, name=path.stem, path=path, text=text, question=_question(text))


def read_sql_files(sql_root: Path = DEFAULT_SQL_ROOT, kinds: Iterable[SqlKind] = KINDS) -> list[SqlFile]:
    """The ``*.sql`` files of ``<sql_root>/views`` and/or ``<sql_root>/queries``, each folder sorted by name.

    A missing folder holds no files.

    Raises:
        AthenaSqlError: a file is malformed (:func:`read_sql_file`), or two files share a name (one named
            query each: names must be unique across views and queries).
    """
    found = [
        read_sql_file(path, kind)
        for kind in kinds
        for path in sorted((sql_root / FOLDERS[kind]).glob("*.sql"))
    ]
    names = [f.name for f in found]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise AthenaSqlError(f"sql/athena: names used by more than one file: {', '.join(duplicates)}")
    return found


def views_in_dependency_order(sql_files: Iterable[SqlFile]) -> list[SqlFile]:
    """The views among ``sql_files``, each after the views it names (queries are left out).

    A view depends on every other view whose name appears as a word in its SQL (comments aside). Views
    that become ready together come in name order, so the order is the same on every run.

    Raises:
        AthenaSqlError: views reference each other in a cycle (the message lists the views of the cycle).
    """
    views = {f.name: f for f in sql_files if f.kind == "view"}
    bodies = {name: strip_comments(view.text) for name, view in views.items()}
    graph: TopologicalSorter[str] = TopologicalSorter(
        {
            name: {
                other
                for other in views
                if other != name and re.search(rf"\b{re.escape(other)}\b", bodies[name])
            }
            for name in sorted(views)
        }
    )
    try:
        graph.prepare()
    except CycleError as error:
        cycle = sorted(set(error.args[1]))
        raise AthenaSqlError(f"sql/athena/views reference each other in a cycle: {cycle}") from error
    ordered: list[SqlFile] = []
    while graph.is_active():
        ready = sorted(graph.get_ready())
        ordered.extend(views[name] for name in ready)
        graph.done(*ready)
    return ordered


__all__ = [
    "DEFAULT_SQL_ROOT",
    "FOLDERS",
    "KINDS",
    "AthenaSqlError",
    "SqlFile",
    "SqlKind",
    "read_sql_file",
    "read_sql_files",
    "strip_comments",
    "views_in_dependency_order",
]
