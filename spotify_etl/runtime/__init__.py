"""Where the transform job runs: ``glue`` (the AWS Glue edge) and ``local`` (local files, local Spark, a local
bookmark). Both call the same job, :func:`spotify_etl.transform.job.run_transform`."""
