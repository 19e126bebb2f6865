"""``make bench``: benchmark data, the harness, and the DuckDB yardstick. Not part of the product."""
