"""Build everything `make deploy` ships into ``build/``, offline and reproducibly.

``python -m infra.scripts.package --out build`` writes:

- ``build/lambda/extract_lambda.zip``: the ``extract_lambda`` package plus its dependencies at the versions of
  ``uv.lock``, as installed for the Lambda runtime (python3.13 on ``--lambda-architecture``) into
  ``.venv-lambda/<architecture>`` by ``python -m infra.scripts.locked lambda-site`` (``make package`` runs it when
  the lock changes). No pyspark, no ``spotify_etl``.
- ``build/glue/transform_playlists.py``: the Glue entry script, verbatim.
- ``build/glue/spotify_etl_glue-<hash>.zip``: the Glue-side modules of ``spotify_etl`` (``--extra-py-files``);
  the content hash in the name makes every code change a new S3 key, so the job picks it up.
- ``build/template.yaml``: the source template with the local code paths for ``aws cloudformation package``,
  one ``AWS::Athena::NamedQuery`` per file of ``sql/athena/views`` and ``sql/athena/queries``, ``GlueVersion``
  defaulting to ``--glue-version`` and ``LambdaArchitecture`` fixed to the zip's architecture. The Glue library
  is pure Python source (no bytecode, no compiled module): the same zip is right for Glue 5.0 and 6.0.

Zips are deterministic (sorted entries, fixed timestamps and modes): the same sources give the same bytes,
so ``aws cloudformation package`` (which names uploads by content hash) uploads only what changed.
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import re
import shutil
import sys
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from infra.scripts.cfn import REPO_ROOT, SOURCE_TEMPLATE, dump_template
from infra.scripts.locked import LAMBDA_ARCHITECTURES, LAMBDA_RUNTIME, LambdaRuntime
from spotify_etl.athena_sql import DEFAULT_SQL_ROOT, AthenaSqlError, SqlFile, read_sql_files
from spotify_etl.cfn_template import load_template

LAMBDA_PACKAGE = "extract_lambda"
GLUE_SCRIPT = REPO_ROOT / "glue_jobs" / "transform_playlists.py"
# The Glue-side modules of spotify_etl: they import with pyspark (and awsglue for glue.py) only.
GLUE_LIBRARY_FILES: tuple[str, ...] = (
    "spotify_etl/__init__.py",
    "spotify_etl/config.py",
    "spotify_etl/lake.py",
    "spotify_etl/sparkutil.py",
    "spotify_etl/runtime/__init__.py",
    "spotify_etl/runtime/glue.py",
    "spotify_etl/runtime/run_metrics.py",
)
GLUE_LIBRARY_TREES: tuple[str, ...] = ("spotify_etl/transform",)
GLUE_VERSIONS: tuple[str, ...] = ("5.0", "6.0")  # equal to the template's GlueVersion AllowedValues
DEFAULT_GLUE_VERSION = "5.0"

_ZIP_TIMESTAMP = (1980, 1, 1, 0, 0, 0)
_SKIP_PARTS = {"__pycache__", ".mypy_cache", ".pytest_cache"}


class PackagingError(RuntimeError):
    """A build input is missing or malformed; the message says which and what to do."""


@dataclass(frozen=True)
class Artifacts:
    """Paths of one build, all inside ``out_dir``."""

    out_dir: Path
    lambda_zip: Path
    glue_script: Path
    glue_library: Path
    template: Path


def _files_under(root: Path) -> list[Path]:
    return sorted(
        p
        for p in root.rglob("*")
        if p.is_file() and not (_SKIP_PARTS & set(p.parts)) and p.suffix not in (".pyc", ".pyo")
    )


def write_deterministic_zip(target: Path, entries: Iterable[tuple[str, Path]]) -> Path:
    """Zip ``(archive name, file)`` pairs sorted by name, with fixed timestamps and 0644 modes."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(target.suffix + ".tmp")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for name, path in sorted(entries):
            info = zipfile.ZipInfo(name, date_time=_ZIP_TIMESTAMP)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, path.read_bytes(), compresslevel=9)
    tmp.replace(target)
    return target


def build_lambda_zip(out_dir: Path, site: Path = LAMBDA_RUNTIME.site) -> Path:
    """The extract Lambda's deployment zip: the locked dependencies installed in ``site``, plus our package.

    Raises:
        PackagingError: the site is missing (run ``make package``, which installs it from uv.lock).
    """
    installed = site / "python"
    if not installed.is_dir() or not any(installed.glob("*.dist-info")):
        raise PackagingError(
            f"no Lambda dependencies in {installed}: run `make package` (it installs the lock's `lambda` "
            f"group there once, so that packaging needs no network)"
        )
    entries = [
        (p.relative_to(installed).as_posix(), p)
        for p in _files_under(installed)
        if p.relative_to(installed).parts[0] != "bin"
    ]
    package_dir = REPO_ROOT / LAMBDA_PACKAGE
    entries += [(p.relative_to(REPO_ROOT).as_posix(), p) for p in _files_under(package_dir)]
    return write_deterministic_zip(out_dir / "lambda" / "extract_lambda.zip", entries)


def build_glue_library(out_dir: Path) -> Path:
    """The ``--extra-py-files`` zip of spotify_etl's Glue-side modules, named by its content hash."""
    entries: list[tuple[str, Path]] = []
    for name in GLUE_LIBRARY_FILES:
        path = REPO_ROOT / name
        if not path.is_file():
            raise PackagingError(f"{name} is missing: the Glue job's library needs it")
        entries.append((name, path))
    for tree in GLUE_LIBRARY_TREES:
        entries += [(p.relative_to(REPO_ROOT).as_posix(), p) for p in _files_under(REPO_ROOT / tree)]
    staged = write_deterministic_zip(out_dir / "glue" / "spotify_etl_glue.zip.build", entries)
    digest = hashlib.sha256(staged.read_bytes()).hexdigest()[:12]
    for old in staged.parent.glob("spotify_etl_glue-*.zip"):
        old.unlink()
    return staged.replace(staged.parent / f"spotify_etl_glue-{digest}.zip")


def named_query_logical_id(sql: SqlFile) -> str:
    """``views/current_tracks.sql`` -> ``AthenaViewCurrentTracks``."""
    camel = "".join(part.capitalize() for part in re.split(r"[^A-Za-z0-9]+", sql.name) if part)
    return f"Athena{sql.kind.capitalize()}{camel}"


def named_query_resource(sql: SqlFile) -> dict[str, Any]:
    """The AWS::Athena::NamedQuery of one sql file: its text verbatim, its question as the description."""
    prefix = "Creates the view: " if sql.kind == "view" else ""
    return {
        "Type": "AWS::Athena::NamedQuery",
        "Properties": {
            "Name": sql.name,
            "Description": (prefix + sql.question)[:1024],
            "Database": {"Ref": "GlueDatabase"},
            "WorkGroup": {"Ref": "AthenaWorkGroup"},
            "QueryString": sql.text,
        },
    }


def render_template(
    source: dict[str, Any],
    *,
    lambda_zip: str,
    glue_script: str,
    glue_library_name: str,
    sql_files: Sequence[SqlFile],
    glue_version: str = DEFAULT_GLUE_VERSION,
    lambda_architecture: str = LAMBDA_RUNTIME.architecture,
) -> dict[str, Any]:
    """The deployable template: local code paths for ``aws cloudformation package``, named queries added.

    Args:
        source: the source template in long form (:func:`spotify_etl.cfn_template.load_template`).
        lambda_zip: path of the Lambda zip relative to the rendered template.
        glue_script: path of the Glue script relative to the rendered template.
        glue_library_name: file name of the uploaded library zip (content-hashed).
        sql_files: the views and queries of sql/athena.
        glue_version: the default of the GlueVersion parameter (both versions stay allowed).
        lambda_architecture: the architecture the Lambda zip was built for: the only one the rendered
            LambdaArchitecture parameter allows, so that a deploy cannot run arm64 wheels on x86_64.
    """
    rendered = copy.deepcopy(source)
    parameters = rendered["Parameters"]
    parameters["GlueVersion"]["Default"] = glue_version
    parameters["LambdaArchitecture"]["Default"] = lambda_architecture
    parameters["LambdaArchitecture"]["AllowedValues"] = [lambda_architecture]
    resources = rendered["Resources"]
    resources["ExtractFunction"]["Properties"]["Code"] = lambda_zip
    job = resources["TransformJob"]["Properties"]
    job["Command"]["ScriptLocation"] = glue_script
    job["DefaultArguments"]["--extra-py-files"] = {
        "Fn::Sub": f"s3://${{AssetsBucket}}/${{AssetsPrefix}}/glue/{glue_library_name}"
    }
    for sql in sql_files:
        logical_id = named_query_logical_id(sql)
        if logical_id in resources:
            raise PackagingError(f"{sql.path}: logical id {logical_id} already exists in the template")
        resources[logical_id] = named_query_resource(sql)
    return rendered


def package(
    out_dir: Path,
    *,
    glue_version: str = DEFAULT_GLUE_VERSION,
    lambda_runtime: LambdaRuntime = LAMBDA_RUNTIME,
    lambda_site: Path | None = None,
    sql_root: Path = DEFAULT_SQL_ROOT,
) -> Artifacts:
    """Build every artifact into ``out_dir`` (created if needed).

    Raises:
        PackagingError: a missing input or an unknown Glue version.
        AthenaSqlError: a malformed file of ``sql_root`` (checked before anything is built).
    """
    if glue_version not in GLUE_VERSIONS:
        raise PackagingError(f"Glue version {glue_version!r} is not one of {', '.join(GLUE_VERSIONS)}")
    out_dir.mkdir(parents=True, exist_ok=True)
    sql_files = read_sql_files(sql_root)
    lambda_zip = build_lambda_zip(out_dir, lambda_site or lambda_runtime.site)
    glue_library = build_glue_library(out_dir)
    glue_script = out_dir / "glue" / GLUE_SCRIPT.name
    shutil.copyfile(GLUE_SCRIPT, glue_script)
    rendered = render_template(
        load_template(SOURCE_TEMPLATE),
        lambda_zip=lambda_zip.relative_to(out_dir).as_posix(),
        glue_script=glue_script.relative_to(out_dir).as_posix(),
        glue_library_name=glue_library.name,
        sql_files=sql_files,
        glue_version=glue_version,
        lambda_architecture=lambda_runtime.architecture,
    )
    template = out_dir / "template.yaml"
    template.write_text(dump_template(rendered), encoding="utf-8")
    return Artifacts(out_dir, lambda_zip, glue_script, glue_library, template)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m infra.scripts.package", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "--out", type=Path, default=REPO_ROOT / "build", help="output directory (default build/)"
    )
    parser.add_argument("--glue-version", choices=GLUE_VERSIONS, default=DEFAULT_GLUE_VERSION)
    parser.add_argument(
        "--lambda-architecture", choices=LAMBDA_ARCHITECTURES, default=LAMBDA_RUNTIME.architecture
    )
    args = parser.parse_args(argv)
    try:
        artifacts = package(
            args.out.resolve(),
            glue_version=args.glue_version,
            lambda_runtime=LambdaRuntime(architecture=args.lambda_architecture),
        )
    except (PackagingError, AthenaSqlError) as error:
        print(f"ERROR: {error}", file=sys.stderr)
        return 1
    for label, path in (
        ("lambda zip", artifacts.lambda_zip),
        ("glue script", artifacts.glue_script),
        ("glue library", artifacts.glue_library),
        ("template", artifacts.template),
    ):
        print(f"{label:13} {path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path} "
              f"({path.stat().st_size:,} bytes)")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
