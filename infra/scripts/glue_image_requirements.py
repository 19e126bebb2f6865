"""Print the pip requirements of the test suite inside the Glue 5 image (used by Dockerfile.glue).

The image ``public.ecr.aws/glue/aws-glue-libs:5`` already provides Spark 3.5.4 with its pyspark and the real
``awsglue`` (with Glue's jars): installing ``pyspark`` or ``AWSGlueDataplanePython`` from PyPI would shadow
them. Lint and type-check tools are not needed to run tests. Everything else comes from pyproject.toml, so
the image never drifts from the pins of the project.
"""

from __future__ import annotations

import re
import sys
import tomllib
from collections.abc import Sequence
from pathlib import Path

PROVIDED_BY_IMAGE = frozenset({"pyspark", "awsgluedataplanepython"})
NOT_FOR_TESTS = frozenset({"ruff", "mypy", "cfn-lint", "types-pyyaml", "types-requests", "boto3-stubs"})


def _name(requirement: str) -> str:
    match = re.match(r"[A-Za-z0-9_.-]+", requirement)
    if match is None:
        raise ValueError(f"unreadable requirement {requirement!r} in pyproject.toml")
    return match.group(0).lower().replace("_", "-")


def glue_image_requirements(pyproject: Path) -> list[str]:
    """The runtime and dev requirements of ``pyproject``, minus what the image provides and the dev tools."""
    project = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
    requirements = [*project["dependencies"], *project.get("optional-dependencies", {}).get("dev", [])]
    return [r for r in requirements if _name(r) not in PROVIDED_BY_IMAGE | NOT_FOR_TESTS]


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    pyproject = Path(args[0]) if args else Path("pyproject.toml")
    print("\n".join(glue_image_requirements(pyproject)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
