"""Environment faults: failures of the disk, permissions or network, told apart from failures of the data.

A data fault (one object's content) quarantines that object and the rest of the batch lands (I2, I6). An
environment fault is no object's doing: a full disk, a read-only file system, a permission refused, S3
throttling, a lost connection. Quarantining objects for it would record good data as bad, advance the
bookmark past it, and lose it silently. So the run stops at once, quarantines nothing, leaves the bookmark,
and says in one line what failed (``EnvironmentFault``; locally exit code ``EXIT_ENVIRONMENT``,
docs/design.md s.7); the next run after the fault clears lands everything.

The cause is read from the error's text and its causes, in Python and in the JVM (a Spark task's
``IOException`` arrives wrapped in a ``SparkException`` several levels deep). The S3 texts are the error codes
S3 documents for throttling (``SlowDown``, 503) and the AWS SDK's for a request that never got an answer
(https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html,
https://docs.aws.amazon.com/sdkref/latest/guide/feature-retry-behavior.html).
"""

from __future__ import annotations

import errno
from collections.abc import Iterator

EXIT_ENVIRONMENT = 4

# (what a person is told, texts that identify it), first match wins. Texts are matched case-sensitively
# against every message of the chain.
_CAUSES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("no space left on device", ("No space left on device", "Disk quota exceeded")),
    ("read-only file system", ("Read-only file system",)),
    ("disk I/O error", ("Input/output error",)),
    (
        "permission denied",
        (
            "Permission denied",
            "AccessDeniedException",
            "Access Denied",
            "(Service: Amazon S3; Status Code: 403",
        ),
    ),
    ("a folder could not be created (permissions or a read-only file system)", ("Mkdirs failed to create",)),
    (
        "S3 throttling",
        ("SlowDown", "Slow Down", "ThrottlingException", "Status Code: 503", "RequestLimitExceeded"),
    ),
    (
        "lost connectivity",
        (
            "UnknownHostException",
            "ConnectException",
            "NoRouteToHostException",
            "SocketTimeoutException",
            "Connection refused",
            "Connection reset",
            "Unable to execute HTTP request",
        ),
    ),
)
_ERRNOS = {
    errno.ENOSPC: "no space left on device",
    errno.EDQUOT: "no space left on device",
    errno.EROFS: "read-only file system",
    errno.EIO: "disk I/O error",
    errno.EACCES: "permission denied",
    errno.EPERM: "permission denied",
}
_MESSAGE_CHARS = 240


class EnvironmentFault(RuntimeError):
    """The run stopped on a fault of its environment; nothing was quarantined, the bookmark did not move."""


def _messages(error: BaseException) -> Iterator[tuple[BaseException | None, str]]:
    """Every message of the error's chain: Python causes and contexts, and each JVM cause's ``toString``."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current, str(current).split("\n", 1)[0]
        java = getattr(current, "java_exception", None) or getattr(current, "_origin", None)
        depth = 0
        while java is not None and depth < 32:  # a JVM cause chain is finite; the bound is a safety net
            yield None, str(java.toString())
            java, depth = java.getCause(), depth + 1
        current = current.__cause__ or current.__context__


def _cause_of(exception: BaseException | None, message: str) -> str | None:
    if isinstance(exception, OSError) and exception.errno in _ERRNOS:
        return _ERRNOS[exception.errno]
    return next((cause for cause, texts in _CAUSES if any(text in message for text in texts)), None)


def environment_cause(error: BaseException) -> str | None:
    """``"<cause>: <the message that names it>"`` when the error is an environment fault, else None.

    The deepest message that names a cause is quoted: a JVM root cause (``java.io.IOException: No space
    left on device``) rather than the ``SparkException`` that repeats it inside a page of context.
    """
    found = None
    for exception, message in _messages(error):
        cause = _cause_of(exception, message)
        if cause is not None:
            found = f"{cause}: {message}"[:_MESSAGE_CHARS]
    return found


def environment_fault(cause: str) -> EnvironmentFault:
    """The one wording of an environment fault: what stopped, what did not happen, the cause."""
    return EnvironmentFault(
        f"environment fault, run stopped (nothing quarantined, bookmark unmoved): {cause}"
    )


def as_environment_fault(error: BaseException) -> EnvironmentFault | None:
    """The error as an ``EnvironmentFault`` (itself when it is one), or None when it is not one."""
    if isinstance(error, EnvironmentFault):
        return error
    cause = environment_cause(error)
    return environment_fault(cause) if cause else None
