"""The README's layout table is a true map of the tree: a newcomer finds every room from it.

Every path the table names exists, and every top-level folder, every package of ``spotify_etl`` and every
top-level module of ``spotify_etl`` is named (a new one fails this test until the README says what it is).
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
_ROW = re.compile(r"^\| `([^`]+)` \|")


def _layout_paths() -> list[str]:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text.split("\n## Layout\n", 1)[1].split("\n## ", 1)[0]
    return [m.group(1).rstrip("/") for line in section.splitlines() if (m := _ROW.match(line))]


def _tracked() -> list[str]:
    out = subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True, check=True).stdout
    return [p for p in out.splitlines() if (REPO / p).exists()]


def test_every_path_the_layout_table_names_exists() -> None:
    missing = [p for p in _layout_paths() if not (REPO / p).exists()]

    assert _layout_paths() and not missing


def test_every_folder_package_and_module_is_in_the_layout_table() -> None:
    tracked = _tracked()
    folders = {p.split("/")[0] for p in tracked if "/" in p and not p.startswith(".")}
    packages = {
        str(Path(p).parent) for p in tracked if p.startswith("spotify_etl/") and p.endswith("__init__.py")
    }
    modules = {p for p in tracked if p.count("/") == 1 and p.startswith("spotify_etl/") and p.endswith(".py")}
    modules -= {"spotify_etl/__init__.py"}

    assert sorted((folders | packages | modules) - set(_layout_paths())) == []
