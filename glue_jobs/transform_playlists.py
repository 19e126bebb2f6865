"""AWS Glue 5.0 entry script of the transform job: raw playlist observations -> curated Parquet.

Thin by design: parse arguments, build the Glue runtime, run the job, commit. All logic lives in the
``spotify_etl`` package that Glue receives through ``--extra-py-files``.
"""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    from spotify_etl.runtime.glue import run_glue_job

    return run_glue_job(sys.argv if argv is None else argv)


if __name__ == "__main__":
    sys.exit(main())
