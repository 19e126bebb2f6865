"""Subcommands of ``spotify-etl``: each module has ``configure(parser)`` and ``run(args) -> int``."""
