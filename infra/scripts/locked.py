"""Everything installed outside the project venv, derived from ``uv.lock`` by a command, never kept by hand.

``uv.lock`` (refreshed only by ``make lock``) pins every distribution, transitive ones included. Two things
the project ships are installed elsewhere than ``.venv/`` and are generated from it here:

- the extract Lambda's vendored dependencies: the closure of the ``lambda`` dependency group at the lock's
  versions, installed for the Lambda runtime's platform (python3.13, x86_64 or arm64) into
  ``.venv-lambda/<architecture>`` (``make package`` zips that folder, offline);
- the test requirements of the Glue 5 image (``make test-glue``): the runtime and ``test`` groups minus what
  the image provides itself (its Spark and the real ``awsglue``).

The Glue job itself gets no third-party module: Glue provides pyspark and awsglue, and ``--extra-py-files``
carries only the project's own code (``infra/scripts/package.py``). ``python -m infra.scripts.locked --help``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from packaging.utils import canonicalize_name

from infra.scripts.cfn import REPO_ROOT

LOCK_FILE = REPO_ROOT / "uv.lock"
# The uv that `make` bootstraps from tools/uv-requirements.txt; the Makefile exports its path as UV.
UV = Path(os.environ.get("UV", REPO_ROOT / ".venv-uv" / "bin" / "uv"))
LAMBDA_GROUP = "lambda"
# One site per Lambda architecture, shared by both Glue versions (the Lambda's runtime does not follow Glue's).
LAMBDA_SITES = REPO_ROOT / ".venv-lambda"
# Lambda architecture (the template's LambdaArchitecture) -> the machine of its wheels.
_WHEEL_MACHINES = {"x86_64": "x86_64", "arm64": "aarch64"}
LAMBDA_ARCHITECTURES: tuple[str, ...] = tuple(_WHEEL_MACHINES)


@dataclass(frozen=True)
class LambdaRuntime:
    """The platform the Lambda's wheels are installed for (equal to the template's Runtime/Architectures).

    python3.13 runs on Amazon Linux 2023, whose glibc is 2.34: wheels up to manylinux_2_34 load there.
    https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtimes.html (python3.13: Amazon Linux 2023)
    """

    architecture: str = "x86_64"
    python_version: str = "3.13"

    def __post_init__(self) -> None:
        if self.architecture not in _WHEEL_MACHINES:
            raise ValueError(
                f"Lambda architecture {self.architecture!r} is not one of {', '.join(LAMBDA_ARCHITECTURES)}"
            )

    @property
    def runtime(self) -> str:
        """The template's ``Runtime``."""
        return f"python{self.python_version}"

    @property
    def uv_platform(self) -> str:
        return f"{_WHEEL_MACHINES[self.architecture]}-manylinux_2_34"

    @property
    def site(self) -> Path:
        return LAMBDA_SITES / self.architecture


LAMBDA_RUNTIME = LambdaRuntime()
# Provided by the Glue 5 image (public.ecr.aws/glue/aws-glue-libs:5): installing them would shadow its own.
GLUE_IMAGE_PROVIDES: tuple[str, ...] = ("pyspark", "awsgluedataplanepython")


class LockError(RuntimeError):
    """uv is missing or refused; the message says what to run."""


def _uv(*args: str) -> str:
    if not UV.is_file():
        raise LockError(
            f"{UV} is missing: run `make install` (it installs uv from tools/uv-requirements.txt)"
        )
    result = subprocess.run([str(UV), *args], cwd=REPO_ROOT, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise LockError(f"`uv {' '.join(args)}` failed: {result.stderr.strip()}")
    return result.stdout


def export_requirements(*, groups: Sequence[str] = (), only_group: str | None = None,
                        prune: Sequence[str] = ()) -> str:  # fmt: skip
    """The lock's pins (with hashes) of the runtime plus ``groups``, or of ``only_group`` alone."""
    args = ["export", "--frozen", "--no-emit-project", "--no-header", "--format", "requirements.txt"]
    args += ["--only-group", only_group] if only_group else [a for g in groups for a in ("--group", g)]
    args += [a for name in prune for a in ("--prune", name)]
    return _uv(*args)


def glue_image_requirements() -> str:
    """The test suite's requirements inside the Glue 5 image, hashed, minus what the image provides."""
    return export_requirements(groups=["test"], prune=GLUE_IMAGE_PROVIDES)


def install_lambda_site(runtime: LambdaRuntime = LAMBDA_RUNTIME, site: Path | None = None) -> Path:
    """Install the ``lambda`` group's locked closure for the Lambda runtime into ``site`` (replaced whole).

    ``site`` defaults to the runtime's own (``.venv-lambda/<architecture>``).

    Wheels only, hashes required, no resolution: exactly the lock's files. ``site/requirements.txt`` keeps
    what was installed, so that a changed lock is noticed (``make`` re-runs this when uv.lock changes).
    """
    site = site or runtime.site
    requirements = export_requirements(only_group=LAMBDA_GROUP)
    staging = site.with_name(site.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    (staging / "requirements.txt").write_text(requirements, encoding="utf-8")
    _uv(
        "pip", "install", "--quiet", "--target", str(staging / "python"),
        "--python-platform", runtime.uv_platform, "--python-version", runtime.python_version,
        "--only-binary", ":all:", "--require-hashes", "--no-deps", "--no-compile",
        "-r", str(staging / "requirements.txt"),
    )  # fmt: skip
    shutil.rmtree(site, ignore_errors=True)
    staging.replace(site)
    return site


def locked_versions(lock_file: Path = LOCK_FILE) -> dict[str, set[str]]:
    """Every distribution of the lock: normalized name -> its locked versions (a conflict may fork one)."""
    lock = tomllib.loads(lock_file.read_text(encoding="utf-8"))
    versions: dict[str, set[str]] = {}
    for package in lock["package"]:
        if "version" in package:
            versions.setdefault(canonicalize_name(package["name"]), set()).add(package["version"])
    return versions


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m infra.scripts.locked", description=__doc__.splitlines()[0]
    )
    commands = parser.add_subparsers(dest="command", required=True)
    site = commands.add_parser("lambda-site", help="install the Lambda's locked dependencies into a folder")
    site.add_argument("--architecture", choices=LAMBDA_ARCHITECTURES, default=LAMBDA_RUNTIME.architecture)
    site.add_argument("--site", type=Path, help=f"default {LAMBDA_SITES}/<architecture>")
    glue = commands.add_parser("glue-image-requirements", help="write the Glue 5 image's test requirements")
    glue.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    try:
        if args.command == "lambda-site":
            runtime = LambdaRuntime(architecture=args.architecture)
            print(f"lambda site   {install_lambda_site(runtime, args.site)}")
        else:
            args.out.parent.mkdir(parents=True, exist_ok=True)
            args.out.write_text(glue_image_requirements(), encoding="utf-8")
            print(f"requirements  {args.out}")
    except LockError as error:
        print(f"ERROR: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
