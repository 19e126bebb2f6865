"""The local runtime of the transform job: local files, local Spark, Glue's bookmark semantics, one writer per lake."""
