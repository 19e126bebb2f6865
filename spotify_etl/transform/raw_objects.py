"""The one rule of which objects are raw observations, for both runtimes.

A raw observation is an object under ``<raw_path>/playlists/`` whose key has no hidden component (a file or
folder name starting with ``_`` or ``.``, which Spark and Hadoop's input formats skip as well) and whose name
ends in ``.json.gz``. Hidden objects are not observations and are skipped silently; a visible object with
another name is quarantined (``not_gzip``: raw objects are gzip JSON Lines, docs/design.md s.2).

- Locally, :func:`spotify_etl.runtime.local.transform.list_raw_objects` lists the prefix and applies :func:`is_hidden`.
- On Glue, the bookmarked read gets the prefix as its path and :data:`GLUE_EXCLUSIONS` as its ``exclusions``
  (Glue's glob syntax, :mod:`spotify_etl.transform.globs`, relative to the path); the name rule is applied to the
  rows' ``source_file`` after the read, because a glob cannot say "every name that does not end in .json.gz".

Object names are data: :func:`hadoop_literal` escapes Hadoop's glob characters so that a name with ``[``, ``{``,
``*``, ``?`` or ``\\`` is read as itself.

An object that was selected but yields no line is named by :func:`unreadable_object` (both runtimes).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from spotify_etl.transform.storage import HadoopFileSystem

Rejection = tuple[str, str, str]  # a quarantine row made outside Spark: (source_file, reason, detail)

RAW_SUFFIX = ".json.gz"
HIDDEN_STARTS = ("_", ".")
NOT_RAW_REASON = "not_gzip"
NOT_RAW_DETAIL = (
    f"object name does not end in {RAW_SUFFIX}: raw objects are gzip JSON Lines (docs/design.md s.2)"
)
# Hidden files and hidden folders, at the top of the prefix or below it.
GLUE_EXCLUSIONS: tuple[str, ...] = ("{,**/}_*", "{,**/}.*", "{,**/}_*/**", "{,**/}.*/**")
_HADOOP_GLOB = set("\\[]{}*?")
_GZIP_MAGIC = b"\x1f\x8b"


def is_hidden(relative_key: str) -> bool:
    """Whether any component of the key (relative to the raw root) is hidden."""
    return any(part.startswith(HIDDEN_STARTS) for part in relative_key.split("/") if part)


def name_rejection(uri: str) -> Rejection | None:
    """``(uri, reason, detail)`` for a visible object whose name is not a raw observation's, else None."""
    return None if uri.endswith(RAW_SUFFIX) else (uri, NOT_RAW_REASON, NOT_RAW_DETAIL)


def hadoop_literal(uri: str) -> str:
    """The URI with Hadoop's glob characters escaped, so that Spark's reader takes it as one literal path."""
    return "".join("\\" + ch if ch in _HADOOP_GLOB else ch for ch in uri)


def unreadable_object(fs: HadoopFileSystem, uri: str) -> Rejection | None:
    """Name why an object yielded no line: not gzip at all, or gzip holding nothing readable.

    None when the object vanished since it was listed (deleted meanwhile: nothing to quarantine, skipped).
    """
    if not fs.exists(uri):
        return None
    head = fs.head(uri, 2)
    if not head:
        return uri, "empty", "the object has 0 bytes"
    if head != _GZIP_MAGIC:
        return (
            uri,
            "not_gzip",
            f"first bytes {head.hex()} are not the gzip magic 1f8b; raw objects are gzip "
            "(docs/design.md s.2)",
        )
    return uri, "not_gzip", "gzip stream is truncated or corrupt, or holds no line"
