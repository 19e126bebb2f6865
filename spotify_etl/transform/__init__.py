"""Pure PySpark: the raw envelope's schema, its validation, the six curated tables and the merge rule."""
