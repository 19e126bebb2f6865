"""When an ``extracted_at`` is plausible: not before Spotify existed, not after the run's clock.

An object's ``extracted_at`` becomes its ``snapshot_date`` partition in every table, so one object
claiming 2099 would create ``snapshot_date=2099-01-01`` partitions (and win every "latest" query for
seventy years). An extractor cannot observe a playlist before Spotify launched (2008-10-07), nor after
the moment the transform reads the object: it was landed before it was read. The upper bound is the
run's clock plus ``FUTURE_TOLERANCE``, which absorbs clock differences between the extractor and the job
and objects that land while the run is starting (the run reads them minutes after its clock started).

The run's clock is the transform's ``now``: the real clock on AWS and for ``spotify-etl transform``;
``make run`` passes the simulated clock when the simulation runs ahead of the real one, so the simulated
world's observations are plausible in the simulated world.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

EARLIEST_EXTRACTED_AT = datetime(2008, 10, 7, tzinfo=UTC)  # Spotify's public launch
FUTURE_TOLERANCE = timedelta(hours=1)


def latest_plausible(run_clock: datetime) -> datetime:
    """The latest ``extracted_at`` a run whose clock reads ``run_clock`` accepts."""
    return run_clock.astimezone(UTC) + FUTURE_TOLERANCE


def iso_z(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
