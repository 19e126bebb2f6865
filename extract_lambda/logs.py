"""Structured JSON logs, with secrets kept out of them.

Each extract event is one JSON object per line (``log_event``). Secrets never reach a log line for two
reasons that do not depend on each other: spotipy, which logs request headers (the Basic client secret,
the Bearer token) and the refresh-token body at DEBUG level, is held at CRITICAL whatever ``LOG_LEVEL``
says; and the handlers installed here redact every known secret from every formatted line.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

LOGGER_NAME = "extract_lambda"
# Floors for library loggers. spotipy prints request headers and bodies (secrets) at DEBUG and an ERROR
# line for every HTTP error, which the extractor explains itself in its own event (and some of which,
# like the batch-artists 403, are expected): spotipy is held at CRITICAL, urllib3 at INFO.
_LIBRARY_LOG_FLOORS = {"spotipy": logging.CRITICAL, "urllib3": logging.INFO}
REDACTED = "[REDACTED]"


def log_event(logger: logging.Logger, event: str, level: int = logging.INFO, **fields: Any) -> None:
    """Log one event as a single JSON object (the message itself is JSON, whatever the handler)."""
    payload = {"event": event, **fields}
    logger.log(level, json.dumps(payload, default=str, sort_keys=False))


def quiet_http_debug_logs() -> None:
    """Raise spotipy/urllib3 to their floors: at DEBUG spotipy logs Authorization headers."""
    for name, floor in _LIBRARY_LOG_FLOORS.items():
        lib_logger = logging.getLogger(name)
        if lib_logger.level < floor:  # NOTSET (0) included: it would inherit DEBUG from root
            lib_logger.setLevel(floor)


class RedactingFilter(logging.Filter):
    """Replace each known secret in a record's formatted message with ``[REDACTED]``."""

    def __init__(self, secrets: Iterable[str | None] = ()) -> None:
        super().__init__()
        self.secrets: set[str] = set()
        self.add(secrets)

    def add(self, secrets: Iterable[str | None]) -> None:
        self.secrets.update(s for s in secrets if s and len(s) >= 6)

    def redact(self, text: str) -> str:
        for secret in sorted(self.secrets, key=len, reverse=True):
            text = text.replace(secret, REDACTED)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        if self.secrets:
            message = record.getMessage()
            redacted = self.redact(message)
            if redacted != message:
                record.msg, record.args = redacted, None
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ``ts``, ``level``, ``logger`` and either the event fields or ``message``."""

    def format(self, record: logging.LogRecord) -> str:
        base: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "level": record.levelname,
            "logger": record.name,
        }
        message = record.getMessage()
        parsed: Any = None
        if message.startswith("{"):
            try:
                parsed = json.loads(message)
            except ValueError:
                parsed = None
        if isinstance(parsed, dict):
            base.update(parsed)
        else:
            base["message"] = message
        if record.exc_info and record.exc_info[0] is not None:
            base["exception"] = record.exc_info[0].__name__
        return json.dumps(base, default=str)


def configure_cli_logging(level: str | int = "INFO", secrets: Iterable[str | None] = ()) -> RedactingFilter:
    """JSON lines on stderr for the local CLI (root logger), with redaction; returns the filter."""
    redactor = RedactingFilter(secrets)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(redactor)
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, "_spotify_etl_cli", False)]:
        root.removeHandler(old)
    handler._spotify_etl_cli = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level if isinstance(level, int) else level.upper())
    quiet_http_debug_logs()
    return redactor


def configure_lambda_logging(level: str = "INFO", secrets: Iterable[str | None] = ()) -> RedactingFilter:
    """On Lambda: keep the runtime's handler (it adds the request id), add redaction, set the level."""
    redactor = RedactingFilter(secrets)
    root = logging.getLogger()
    for handler in root.handlers:
        for old in [f for f in handler.filters if isinstance(f, RedactingFilter)]:
            handler.removeFilter(old)
        handler.addFilter(redactor)
    root.setLevel(level.upper())
    logging.getLogger(LOGGER_NAME).setLevel(level.upper())
    quiet_http_debug_logs()
    return redactor
