"""Manifests for a lake written before they existed: a one-time listing of each partition folder.

The catalog's tables read each partition through its manifest (docs/design.md I5). A lake written before
manifests has data folders and no manifests, and a catalog switched to the symlink tables would show its
partitions without rows until a run rewrote each of them. So before it stages anything, a run makes sure
every partition folder of every curated table has a manifest, listing the Parquet files the folder holds
(what readers saw before: the folder's files). A marker, ``<curated>/symlinks/_complete``, written last,
says the lake has been through this: a later run pays one existence check. A crash half-way leaves no marker
and the next run completes the listing, skipping the manifests already written (the swap keeps them true
from then on).

Cost: once per lake, one listing per partition folder and one small write per manifest; then one check a run.
"""

from __future__ import annotations

from spotify_etl.lake import MANIFEST_NAME, SYMLINKS_FOLDER, table_symlinks
from spotify_etl.transform.registry import CURATED_TABLES
from spotify_etl.transform.storage import HadoopFileSystem

COMPLETE_MARKER = "_complete"
PARTITION_COLUMN = "snapshot_date"


def ensure_manifests(fs: HadoopFileSystem, curated_root: str, scratch: str) -> int:
    """Write the missing manifests of a lake written before manifests; the number written (0: none missing).

    ``scratch`` is the run's staging, where a local manifest is written before it is renamed into place.
    """
    curated_root = curated_root.rstrip("/")
    marker = f"{curated_root}/{SYMLINKS_FOLDER}/{COMPLETE_MARKER}"
    if fs.exists(marker):
        return 0
    written = 0
    tables_found = False
    for table in CURATED_TABLES:
        data_root = f"{curated_root}/{table}"
        folders = fs.list_dirs(data_root)
        tables_found = tables_found or bool(folders)
        for folder in folders:
            name = folder.rstrip("/").rsplit("/", 1)[-1]
            if not name.startswith(f"{PARTITION_COLUMN}="):
                continue
            manifest = f"{table_symlinks(curated_root, table)}/{name}/{MANIFEST_NAME}"
            if fs.exists(manifest):
                continue
            files = [f.uri.rsplit("/", 1)[-1] for f in fs.list_files(folder, ".parquet")]
            listing = "".join(f"{data_root}/{name}/{file}\n" for file in files)
            fs.replace_file(manifest, listing.encode(), scratch)
            written += 1
    if (
        tables_found
    ):  # a new lake gets its marker from the first run that finds a table (nothing new writes nothing)
        fs.replace_file(marker, b"", scratch)
    return written
