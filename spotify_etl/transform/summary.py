"""The summary every transform run prints (and returns), on Glue and locally."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from spotify_etl.config import DEFAULT_BOOKMARK_OPTION


@dataclass
class RunSummary:
    """What one run read, rejected and wrote.

    Attributes:
        objects_read: raw objects the run considered (new since the bookmark, or all when disabled).
        objects_valid: objects reflected in the curated tables.
        rejected: rejected objects by quarantine reason.
        rows_written: rows in the rewritten partitions, per table.
        files_written: Parquet files written, per table.
        partitions_touched: snapshot_date values rewritten, per table.
        seconds: wall time of the run (without JVM start when the session already existed).
        bookmark_option: the option the run honoured.
        bookmark_committed: whether the bookmark advanced.
        warnings: things a person should look at; the run still succeeded.
        quality: the data quality gate's counts: ``rules`` judged, ``passed``, ``error_failed``,
            ``warn_failed`` (docs/transform.md, "The gate"); empty when the run staged no table.
        quality_landed_anyway: the run landed despite failed ERROR rules (``land_despite_quality_errors``).
        quality_seconds: wall time of the gate (judging the staged partitions, tracing failed
            row-level rules to objects, recording the results): its share of ``seconds``.
    """

    objects_read: int = 0
    objects_valid: int = 0
    rejected: dict[str, int] = field(default_factory=dict)
    rows_written: dict[str, int] = field(default_factory=dict)
    files_written: dict[str, int] = field(default_factory=dict)
    partitions_touched: dict[str, list[str]] = field(default_factory=dict)
    seconds: float = 0.0
    bookmark_option: str = DEFAULT_BOOKMARK_OPTION
    bookmark_committed: bool = False
    warnings: list[str] = field(default_factory=list)
    quality: dict[str, int] = field(default_factory=dict)
    quality_landed_anyway: bool = False
    quality_seconds: float = 0.0

    def to_dict(self) -> dict[str, object]:
        return asdict(self)

    def format(self) -> str:
        """Human-readable, one fact per line."""
        rejected = ", ".join(f"{reason}={n}" for reason, n in sorted(self.rejected.items())) or "none"
        lines = [
            f"objects read: {self.objects_read} (valid {self.objects_valid}; rejected: {rejected})",
        ]
        for table in sorted(set(self.rows_written) | set(self.files_written)):
            parts = self.partitions_touched.get(table, [])
            lines.append(
                f"  {table:<19} rows={self.rows_written.get(table, 0):>9} files={self.files_written.get(table, 0):>4} "
                f"partitions={len(parts)} {', '.join(parts[:5])}{' ...' if len(parts) > 5 else ''}"
            )
        if self.quality:
            q = self.quality
            landed = "; landed despite ERROR failures" if self.quality_landed_anyway else ""
            lines.append(
                f"quality: {q['rules']} rules, {q['passed']} passed, {q['error_failed']} ERROR failed, "
                f"{q['warn_failed']} WARN failed{landed}; {self.quality_seconds:.1f}s"
            )
        committed = "advanced" if self.bookmark_committed else "not advanced"
        lines.append(f"bookmark: {self.bookmark_option}, {committed}; {self.seconds:.1f}s")
        lines += [f"warning: {warning}" for warning in self.warnings]
        return "\n".join(lines)
