"""Read the local crawler's catalog of a test lake: the rows of one SQL statement (metadata or table views)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from spotify_etl.aws_twin.catalog_store import connect
from spotify_etl.aws_twin.symlink_tables import create_session_views
from spotify_etl.lake import LakeLayout


def catalog_rows(lake: Path, sql: str) -> list[tuple[Any, ...]]:
    """The rows ``sql`` returns on the lake's catalog, opened read-only (as a query session does)."""
    con = connect(LakeLayout.from_lake(lake).catalog_file)
    create_session_views(con)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()
