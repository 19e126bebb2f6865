"""Spotify playlist lake: shared library of the Glue job, the local runtime and the tooling.

Modules that Glue receives through ``--extra-py-files`` (``spotify_etl.transform``, ``spotify_etl.config``,
``spotify_etl.runtime.glue``) import nothing beyond pyspark and the standard library at module level.
"""

__version__ = "0.1.0"
