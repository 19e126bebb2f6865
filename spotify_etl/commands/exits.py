"""The exit codes of the local commands (docs/design.md s.7) and the one-line message of each failure kind.

Every expected failure prints one line on stderr and returns its code; only a bug prints a traceback.
"""

from __future__ import annotations

import sys

from spotify_etl.runtime.local.lock import EXIT_LOCKED
from spotify_etl.transform.faults import EXIT_ENVIRONMENT, as_environment_fault

EXIT_FAILED = 1
EXIT_BAD_INPUT = 2

__all__ = ["EXIT_BAD_INPUT", "EXIT_ENVIRONMENT", "EXIT_FAILED", "EXIT_LOCKED", "environment_exit", "fail"]


def fail(command: str, message: object, code: int) -> int:
    """Print ``spotify-etl <command>: <message>`` (its first line) on stderr; return ``code``."""
    first = str(message).strip().split("\n", 1)[0]
    print(f"spotify-etl {command}: {first}", file=sys.stderr)
    return code


def environment_exit(command: str, error: BaseException) -> int:
    """The exit of an environment fault (disk, permissions, network: ``transform/faults.py``); any other
    error is re-raised, as a bug must be."""
    fault = as_environment_fault(error)
    if fault is None:
        raise error
    return fail(command, fault, EXIT_ENVIRONMENT)
