"""Small JSON state objects of the extractor: in S3 next to the lake, or in a local lake folder.

The extractor keeps two: the artist cache (``artists.json.gz``, :mod:`extract_lambda.artist_cache`) and,
on Lambda, the progress of retried invocations (``retries.json``, :mod:`extract_lambda.progress`). They
live under ``_state/extract/`` of the data bucket (locally ``LAKE/_state/extract/``, written by
``spotify_etl.local_extract.LocalStateStore``): outside ``raw/``
(which the transform job reads) and ``curated/`` (which the crawler catalogs).

A missing object reads as ``None``. An unreadable one (corrupt, not JSON) also reads as ``None`` with a
warning: state is an optimisation or a retry aid, never a reason to stop extracting.
"""

from __future__ import annotations

import gzip
import json
import logging
from typing import Any, Protocol

from extract_lambda.logs import log_event

STATE_PREFIX = "_state/extract"
logger = logging.getLogger("extract_lambda.state")


class StateStore(Protocol):
    def read(self, name: str) -> Any: ...

    def write(self, name: str, value: Any) -> None: ...


def encode_state(name: str, value: Any) -> bytes:
    data = json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode("utf-8")
    return gzip.compress(data, mtime=0) if name.endswith(".gz") else data


def decode_state(name: str, data: bytes, where: str) -> Any:
    try:
        text = gzip.decompress(data) if name.endswith(".gz") else data
        return json.loads(text)
    except (OSError, ValueError, EOFError) as error:
        log_event(logger, "state_unreadable", logging.WARNING, object=where, error=type(error).__name__)
        return None


class S3StateStore:
    """``s3://<bucket>/<prefix>/<name>``.

    A missing key answers ``NoSuchKey`` only to a caller allowed ``s3:ListBucket``, otherwise 403
    AccessDenied (https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html, "Permissions"). The
    Lambda's role may not list the bucket (least privilege), so a 403 on read also means "no state yet";
    it is logged, and the run goes on as without state (the cache and retry progress only save work).
    """

    def __init__(self, s3_client: Any, bucket: str, prefix: str = STATE_PREFIX) -> None:
        self.s3 = s3_client
        self.bucket = bucket
        self.prefix = prefix.strip("/")

    def key(self, name: str) -> str:
        return f"{self.prefix}/{name}"

    def read(self, name: str) -> Any:
        try:
            answer = self.s3.get_object(Bucket=self.bucket, Key=self.key(name))
        except self.s3.exceptions.NoSuchKey:
            return None
        except self.s3.exceptions.ClientError as error:
            if error.response.get("Error", {}).get("Code") not in ("AccessDenied", "403"):
                raise
            log_event(logger, "state_absent_or_denied", object=f"s3://{self.bucket}/{self.key(name)}")
            return None
        return decode_state(name, answer["Body"].read(), f"s3://{self.bucket}/{self.key(name)}")

    def write(self, name: str, value: Any) -> None:
        content_type = "application/gzip" if name.endswith(".gz") else "application/json"
        self.s3.put_object(
            Bucket=self.bucket, Key=self.key(name), Body=encode_state(name, value), ContentType=content_type
        )
