"""spotify-etl audit: account for every raw object of a lake (local folder or S3)."""
