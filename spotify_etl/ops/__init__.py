"""Operator tools for a deployed lake on S3 (``spotify-etl quarantine-raw``, ``make smoke``)."""
