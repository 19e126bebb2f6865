"""Environment faults are told from data faults by the error's chain (spotify_etl/transform/faults.py)."""

from __future__ import annotations

import errno

import pytest

from spotify_etl.transform.faults import EnvironmentFault, as_environment_fault, environment_cause


class _Java:
    """A JVM exception as py4j hands it over: ``toString`` and ``getCause``."""

    def __init__(self, text: str, cause: _Java | None = None) -> None:
        self.text, self.cause = text, cause

    def toString(self) -> str:
        return self.text

    def getCause(self) -> _Java | None:
        return self.cause


class _SparkError(Exception):
    def __init__(self, message: str, java: _Java) -> None:
        super().__init__(message)
        self.java_exception = java


@pytest.mark.parametrize(
    ("java_text", "cause"),
    [
        ("java.io.IOException: No space left on device", "no space left on device"),
        ("java.nio.file.FileSystemException: /lake/x: Read-only file system", "read-only file system"),
        ("java.nio.file.AccessDeniedException: /lake/curated", "permission denied"),
        ("java.io.IOException: Input/output error", "disk I/O error"),
        (
            "java.io.IOException: Mkdirs failed to create file:/lake/_staging/r (exists=false)",
            "a folder could not be created (permissions or a read-only file system)",
        ),
        (
            "com.amazonaws.services.s3.model.AmazonS3Exception: Please reduce your request rate. (Service: "
            "Amazon S3; Status Code: 503; Error Code: SlowDown)",
            "S3 throttling",
        ),
        ("java.net.UnknownHostException: bucket.s3.amazonaws.com", "lost connectivity"),
        (
            "com.amazonaws.SdkClientException: Unable to execute HTTP request: Connection reset",
            "lost connectivity",
        ),
    ],
)
def test_a_jvm_cause_deep_in_a_spark_failure_names_the_environment_fault(java_text: str, cause: str) -> None:
    error = _SparkError(
        "An error occurred while calling o123.parquet.",
        _Java(
            "org.apache.spark.SparkException: Job aborted.",
            _Java("org.apache.spark.SparkException: Task failed", _Java(java_text)),
        ),
    )
    assert environment_cause(error) == f"{cause}: {java_text}"[:240]


@pytest.mark.parametrize(
    ("code", "cause"),
    [
        (errno.ENOSPC, "no space left on device"),
        (errno.EROFS, "read-only file system"),
        (errno.EACCES, "permission denied"),
        (errno.EIO, "disk I/O error"),
    ],
)
def test_an_os_error_is_named_by_its_errno(code: int, cause: str) -> None:
    fault = as_environment_fault(OSError(code, "x", "/lake/_bookmarks/j/raw.json"))
    assert isinstance(fault, EnvironmentFault)
    assert str(fault).startswith(
        f"environment fault, run stopped (nothing quarantined, bookmark unmoved): {cause}: "
    )


def test_a_failure_of_the_data_is_not_an_environment_fault() -> None:
    error = _SparkError(
        "An error occurred while calling o123.parquet.",
        _Java(
            "org.apache.spark.SparkException: Job aborted.",
            _Java("java.lang.RuntimeException: injected write failure"),
        ),
    )
    assert environment_cause(error) is None
    assert as_environment_fault(ValueError("not an instant")) is None
