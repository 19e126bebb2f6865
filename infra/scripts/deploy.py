"""Deploy the packaged stack with the AWS CLI: upload, ``cloudformation package``, ``deploy``, Athena views.

``make deploy STACK=... ASSETS_BUCKET=... [PLAYLIST_IDS=... ALARM_EMAIL=...] [DRY_RUN=1] [VIEWS_ONLY=1]``
runs ``python -m infra.scripts.deploy`` after ``make package``. Steps:

0. The account's preconditions (:mod:`infra.scripts.preflight`), before anything is uploaded or created: a
   failing one stops the deploy with one line.
1. ``aws s3 cp`` the content-hashed Glue library zip to ``s3://ASSETS_BUCKET/STACK/glue/``
   (``--extra-py-files`` is a job argument, which ``cloudformation package`` does not upload).
2. ``aws cloudformation package``: uploads the Lambda zip and the Glue script under content hashes and
   writes ``build/packaged.yaml``.
3. ``aws cloudformation deploy`` with the parameters (parameters left out keep their previous values).
4. The Athena views: each ``sql/athena/views/*.sql`` DDL runs in the stack's workgroup, in dependency
   order. The six tables are ``AWS::Glue::Table`` resources of the stack, so they exist as soon as step 3
   returned (``cloudformation deploy`` waits for the stack to complete): the views are created by the same
   ``make deploy``, before any data landed (they read no rows at creation). A missing table (a stack that
   failed half-way) is reported and the step stops; ``VIEWS_ONLY=1`` re-runs just this step.

``--dry-run`` prints every command and needs neither the AWS CLI nor credentials.
"""

from __future__ import annotations

import argparse
import json
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from infra.scripts.cfn import REPO_ROOT
from spotify_etl.athena_sql import AthenaSqlError, SqlFile, read_sql_files, views_in_dependency_order
from spotify_etl.transform.registry import CURATED_TABLES

DEFAULT_DATABASE = "spotify_lake"  # the template's DatabaseName default


class DeployError(RuntimeError):
    """A deploy step failed or cannot start; the message says which and why."""


@dataclass(frozen=True)
class DeployConfig:
    stack: str
    assets_bucket: str
    build_dir: Path
    region: str | None = None
    database: str = DEFAULT_DATABASE
    parameters: dict[str, str] = field(default_factory=dict)

    @property
    def workgroup(self) -> str:
        return self.stack  # AthenaWorkGroup Name: ${AWS::StackName}


def _aws(config: DeployConfig, *args: str) -> list[str]:
    region = ["--region", config.region] if config.region else []
    return ["aws", *region, *args]


def glue_library(build_dir: Path) -> Path:
    candidates = sorted(build_dir.glob("glue/spotify_etl_glue-*.zip"))
    if len(candidates) != 1:
        raise DeployError(f"expected one glue/spotify_etl_glue-<hash>.zip in {build_dir}: run `make package`")
    return candidates[0]


def stack_commands(config: DeployConfig) -> list[list[str]]:
    """Steps 1-3: upload the library, package, deploy."""
    build = config.build_dir
    library = glue_library(build)
    overrides = {"AssetsBucket": config.assets_bucket, "AssetsPrefix": config.stack, **config.parameters}
    if config.database != DEFAULT_DATABASE:
        overrides["DatabaseName"] = config.database
    return [
        _aws(config, "s3", "cp", str(library), f"s3://{config.assets_bucket}/{config.stack}/glue/{library.name}"),
        _aws(
            config, "cloudformation", "package",
            "--template-file", str(build / "template.yaml"),
            "--s3-bucket", config.assets_bucket,
            "--s3-prefix", f"{config.stack}/cfn",
            "--output-template-file", str(build / "packaged.yaml"),
        ),
        _aws(
            config, "cloudformation", "deploy",
            "--template-file", str(build / "packaged.yaml"),
            "--stack-name", config.stack,
            "--capabilities", "CAPABILITY_IAM",
            "--no-fail-on-empty-changeset",
            "--parameter-overrides", *(f"{key}={value}" for key, value in overrides.items()),
        ),
    ]  # fmt: skip


def view_command(config: DeployConfig, view: SqlFile) -> list[str]:
    return _aws(
        config, "athena", "start-query-execution",
        "--work-group", config.workgroup,
        "--query-execution-context", f"Database={config.database}",
        "--query-string", f"file://{view.path}",
        "--output", "json",
    )  # fmt: skip


def _run(command: list[str]) -> str:
    print("+ " + shlex.join(command), flush=True)
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise DeployError(
            f"`{shlex.join(command[:4])} ...` failed ({result.returncode}): {result.stderr.strip()}"
        )
    if result.stdout.strip():
        print(result.stdout.rstrip())
    return result.stdout


def _missing_tables(config: DeployConfig) -> list[str]:
    command = _aws(config, "glue", "get-tables", "--database-name", config.database)
    out = _run([*command, "--query", "TableList[].Name", "--output", "json"])
    present = set(json.loads(out or "[]") or [])
    return [table for table in CURATED_TABLES if table not in present]


def _wait_for_query(config: DeployConfig, query_id: str, name: str) -> None:
    for _ in range(120):
        out = subprocess.run(
            _aws(config, "athena", "get-query-execution", "--query-execution-id", query_id, "--output", "json"),
            capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
        status = json.loads(out)["QueryExecution"]["Status"]
        if status["State"] == "SUCCEEDED":
            return
        if status["State"] in ("FAILED", "CANCELLED"):
            raise DeployError(f"view {name}: {status['State']}: {status.get('StateChangeReason', '')}")
        time.sleep(2)
    raise DeployError(f"view {name}: query {query_id} did not finish in 4 minutes")


def create_views(config: DeployConfig, *, dry_run: bool) -> int:
    """Step 4: the views of sql/athena in dependency order (an AthenaSqlError when they are malformed)."""
    views = views_in_dependency_order(read_sql_files())
    if dry_run:
        for view in views:
            print(shlex.join(view_command(config, view)))
        return 0
    missing = _missing_tables(config)
    if missing:
        print(
            f"Athena views not created: the stack has no table {', '.join(missing)} in {config.database} "
            "(the tables are resources of the stack: check that the deploy completed). Then run:\n"
            f"  make deploy STACK={config.stack} ASSETS_BUCKET={config.assets_bucket} VIEWS_ONLY=1"
        )
        return 0
    for view in views:
        query_id = json.loads(_run(view_command(config, view)))["QueryExecutionId"]
        _wait_for_query(config, query_id, view.name)
        print(f"view {view.name}: created")
    return 0


def preflight(config: DeployConfig, *, dry_run: bool, session: Any = None) -> None:
    """Step 0: the account's preconditions (one line each); a DeployError names the first that fails."""
    from infra.scripts.preflight import CHECKS, Preflight, PreflightError, run_preflight

    if dry_run:
        for check in CHECKS:
            print(f"# preflight: {check.__name__.removeprefix('check_').replace('_', ' ')}")
        return
    if session is None:
        import boto3

        session = boto3.session.Session(region_name=config.region)
    plan = Preflight(
        stack=config.stack,
        assets_bucket=config.assets_bucket,
        database=config.database,
        reserved_concurrency=int(config.parameters.get("ExtractReservedConcurrency") or 0),
    )
    try:
        for line in run_preflight(session, plan):
            print(f"preflight: {line}", flush=True)
    except PreflightError as error:
        raise DeployError(f"preflight: {error}") from error


def deploy(config: DeployConfig, *, dry_run: bool, views_only: bool, session: Any = None) -> int:
    if not dry_run and shutil.which("aws") is None:
        raise DeployError("the AWS CLI (`aws`) is not on PATH: install it (docs/deploy.md) or use DRY_RUN=1")
    if not views_only:
        preflight(config, dry_run=dry_run, session=session)
        for command in stack_commands(config):
            if dry_run:
                print(shlex.join(command))
            else:
                _run(command)
    return create_views(config, dry_run=dry_run)


def _parameter(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    return key, value


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m infra.scripts.deploy", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--stack", required=True, help="CloudFormation stack name (also the assets prefix)")
    parser.add_argument("--assets-bucket", required=True, help="existing S3 bucket for the packaged code")
    parser.add_argument("--build-dir", type=Path, default=REPO_ROOT / "build")
    parser.add_argument("--region", default=None, help="AWS region (default: the CLI's configured one)")
    parser.add_argument("--database", default=DEFAULT_DATABASE, help="Glue database (template DatabaseName)")
    parser.add_argument("--playlist-ids", default="", help="PlaylistIds parameter (comma-separated)")
    parser.add_argument("--alarm-email", default="", help="AlarmEmail parameter")
    parser.add_argument(
        "--parameter", type=_parameter, action="append", default=[], metavar="KEY=VALUE",
        help="any other template parameter, e.g. TransformExecutionClass=FLEX (repeatable)",
    )  # fmt: skip
    parser.add_argument("--dry-run", action="store_true", help="print the commands, run nothing")
    parser.add_argument("--views-only", action="store_true", help="only (re)create the Athena views")
    args = parser.parse_args(argv)
    if not args.stack or not args.assets_bucket:
        parser.error(
            "STACK and ASSETS_BUCKET are required: make deploy STACK=my-lake ASSETS_BUCKET=my-bucket"
        )
    parameters = dict(args.parameter)
    if args.playlist_ids:
        parameters["PlaylistIds"] = args.playlist_ids
    if args.alarm_email:
        parameters["AlarmEmail"] = args.alarm_email
    config = DeployConfig(
        stack=args.stack,
        assets_bucket=args.assets_bucket,
        build_dir=args.build_dir.resolve(),
        region=args.region,
        database=args.database,
        parameters=parameters,
    )
    try:
        return deploy(config, dry_run=args.dry_run, views_only=args.views_only)
    except (DeployError, AthenaSqlError) as error:
        print(f"ERROR: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
