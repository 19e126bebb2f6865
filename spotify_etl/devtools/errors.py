"""The errors of ``make run``'s pipeline (:mod:`spotify_etl.devtools.pipeline`); ``spotify-etl run`` maps them to exit codes."""

from __future__ import annotations


class PipelineError(RuntimeError):
    """A step failed; the message says which and what was kept."""


class PipelineConfigError(PipelineError, ValueError):
    """The run is misconfigured (nothing was done); the message says what to set."""
