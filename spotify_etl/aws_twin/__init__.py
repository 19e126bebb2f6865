"""Local stand-ins for AWS services, each following AWS's documented rules: the Glue workflow runner, the crawler
and its Data Catalog, and Athena (Trino SQL on DuckDB)."""
