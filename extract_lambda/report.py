"""What one extract run landed and what it could not, with why, and how each failure is treated.

Failure policy (docs/extract.md, "Failure policy"):

- ``permanent`` (``not_found``, ``forbidden``): the playlist is gone or the app may not read it; retrying
  cannot help. Reported and counted (metric ``PermanentFailures``, which has an alarm); the Lambda does
  not fail for it, so it does not retry the batch.
- every other reason is ``retryable`` (rate limit, deadline, stall, 5xx, network, token): the Lambda
  fails the invocation after landing everything else, and its retry extracts only what is still missing
  (:class:`extract_lambda.state.InvocationProgress`).
"""

from __future__ import annotations

import json
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, NamedTuple, TextIO

# foreign_link: a response sent the run elsewhere (a human must look); token_not_stored: a retry would use a
# refresh token that may be revoked (docs/extract.md, "Recovery: a rotated refresh token not stored").
PERMANENT_REASONS = frozenset({"not_found", "forbidden", "foreign_link", "token_not_stored"})
# CloudWatch embedded metric format: https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html
DEFAULT_METRICS_NAMESPACE = "SpotifyLake/Extract"


class LandedPlaylist(NamedTuple):
    playlist_id: str
    uri: str
    created: bool  # False: the object already existed (same instant, same snapshot) and was kept
    items: int
    pages: int


class FailedPlaylist(NamedTuple):
    playlist_id: str
    reason: str  # not_found, forbidden, unauthorized, rate_limited, deadline, stalled, server_error, ...
    message: str

    @property
    def permanent(self) -> bool:
        return self.reason in PERMANENT_REASONS


@dataclass
class ExtractReport:
    """What one run landed and what it could not, with why."""

    landed: list[LandedPlaylist] = field(default_factory=list)
    failed: list[FailedPlaylist] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    artists_fetched: int = 0
    artists_from_cache: int = 0
    api_calls: int = 0

    @property
    def ok(self) -> bool:
        return not self.failed

    @property
    def retryable(self) -> list[FailedPlaylist]:
        return [p for p in self.failed if not p.permanent]

    def summary(self) -> str:
        total = len(self.landed) + len(self.failed)
        new = sum(1 for p in self.landed if p.created)
        lines = [
            f"extracted {len(self.landed)} of {total} playlists "
            f"({new} new objects, {len(self.landed) - new} already present), "
            f"{self.artists_fetched} artists fetched, {self.artists_from_cache} from the cache, "
            f"{self.api_calls} API calls"
        ]
        if self.failed:
            lines.append(f"{len(self.failed)} failed:")
            alike: dict[tuple[str, str, bool], list[str]] = {}  # one line for a failure shared by several
            for p in self.failed:
                alike.setdefault((p.reason, p.message, p.permanent), []).append(p.playlist_id)
            lines.extend(
                f"  - {', '.join(ids)}: {reason} ({'permanent' if permanent else 'retryable'}): {message}"
                for (reason, message, permanent), ids in alike.items()
            )
        lines.extend(f"  warning: {w}" for w in self.warnings)
        return "\n".join(lines)

    def outcomes(self) -> list[dict[str, Any]]:
        """One entry per playlist: ``landed``, ``already_present`` or ``failed`` (with reason and class)."""
        landed = [
            {"playlist_id": p.playlist_id, "outcome": "landed" if p.created else "already_present"}
            for p in self.landed
        ]
        failed = [
            {
                "playlist_id": p.playlist_id,
                "outcome": "failed",
                "reason": p.reason,
                "failure_class": "permanent" if p.permanent else "retryable",
            }
            for p in self.failed
        ]
        return landed + failed

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "outcomes": self.outcomes(),
            "landed": [p._asdict() for p in self.landed],
            "failed": [{**p._asdict(), "permanent": p.permanent} for p in self.failed],
            "warnings": list(self.warnings),
            "artists_fetched": self.artists_fetched,
            "artists_from_cache": self.artists_from_cache,
            "api_calls": self.api_calls,
        }


def _emf(namespace: str, dimensions: dict[str, str], values: dict[str, int], at_ms: int) -> dict[str, Any]:
    return {
        "_aws": {
            "Timestamp": at_ms,
            "CloudWatchMetrics": [
                {
                    "Namespace": namespace,
                    "Dimensions": [list(dimensions)],
                    "Metrics": [{"Name": name, "Unit": "Count"} for name in values],
                }
            ],
        },
        **dimensions,
        **values,
    }


def metric_documents(report: ExtractReport, namespace: str, at_ms: int | None = None) -> list[dict[str, Any]]:
    """Embedded-metric-format documents: the run's totals, then ``PlaylistFailures`` per ``Reason``."""
    at = at_ms if at_ms is not None else int(time.time() * 1000)
    totals = {
        "PlaylistsLanded": len(report.landed),
        "PermanentFailures": sum(1 for p in report.failed if p.permanent),
        "RetryableFailures": len(report.retryable),
        "ArtistsFetched": report.artists_fetched,
        "ApiCalls": report.api_calls,
        "RefreshTokenNotStored": int(any(p.reason == "token_not_stored" for p in report.failed)),
    }
    documents = [_emf(namespace, {}, totals, at)]
    for reason, count in sorted(Counter(p.reason for p in report.failed).items()):
        documents.append(_emf(namespace, {"Reason": reason}, {"PlaylistFailures": count}, at))
    return documents


def emit_metrics(report: ExtractReport, namespace: str, stream: TextIO) -> None:
    """Print the EMF documents, one JSON object per line, to ``stream``.

    On Lambda this is stdout: each line becomes one log event, which CloudWatch Logs turns into metrics
    (a log event must be the JSON object alone, without the logging module's prefix).
    """
    for document in metric_documents(report, namespace):
        stream.write(json.dumps(document, separators=(",", ":")) + "\n")
    stream.flush()
