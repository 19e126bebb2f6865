"""`make deploy` (DRY_RUN prints the exact commands, needs no AWS CLI) and `make test-glue` without Docker."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from infra.scripts import deploy
from infra.scripts.cfn import REPO_ROOT
from spotify_etl.athena_sql import SqlFile


def _run_deploy(*args: str, path: str) -> subprocess.CompletedProcess[str]:
    """The deploy module as `make deploy` runs it, with a PATH that has no `aws` on it."""
    env = {"PATH": path, "HOME": os.environ.get("HOME", "/tmp"), "LANG": "C.UTF-8"}
    return subprocess.run(
        [sys.executable, "-m", "infra.scripts.deploy", *args],
        capture_output=True, text=True, env=env, cwd=REPO_ROOT, check=False, timeout=120,
    )  # fmt: skip


def test_dry_run_prints_the_exact_commands_without_the_aws_cli(artifacts, tmp_path):
    build = artifacts.out_dir
    library = artifacts.glue_library.name
    views = sorted((REPO_ROOT / "sql" / "athena" / "views").glob("*.sql"))

    result = _run_deploy(
        "--stack", "lake", "--assets-bucket", "my-assets", "--build-dir", str(build),
        "--playlist-ids", "37i9dQZEVXbMDoHDwVN2tF", "--alarm-email", "ops@example.com",
        "--parameter", "TransformExecutionClass=FLEX", "--dry-run",
        path=str(tmp_path),
    )  # fmt: skip
    checks = result.stdout.splitlines()[:5]
    lines = result.stdout.splitlines()[5:]

    assert result.returncode == 0, result.stderr
    assert checks == [
        "# preflight: identity",
        "# preflight: assets bucket",
        "# preflight: stack state",
        "# preflight: fixed names free",
        "# preflight: lambda concurrency",
    ]
    assert lines[:3] == [
        f"aws s3 cp {build}/glue/{library} s3://my-assets/lake/glue/{library}",
        f"aws cloudformation package --template-file {build}/template.yaml --s3-bucket my-assets "
        f"--s3-prefix lake/cfn --output-template-file {build}/packaged.yaml",
        f"aws cloudformation deploy --template-file {build}/packaged.yaml --stack-name lake "
        "--capabilities CAPABILITY_IAM --no-fail-on-empty-changeset --parameter-overrides "
        "AssetsBucket=my-assets AssetsPrefix=lake TransformExecutionClass=FLEX "
        "PlaylistIds=37i9dQZEVXbMDoHDwVN2tF AlarmEmail=ops@example.com",
    ]
    assert sorted(lines[3:]) == sorted(
        "aws athena start-query-execution --work-group lake --query-execution-context Database=spotify_lake "
        f"--query-string file://{view} --output json"
        for view in views
    )


def test_a_real_deploy_without_the_aws_cli_says_so(artifacts, tmp_path):
    result = _run_deploy(
        "--stack", "lake", "--assets-bucket", "b", "--build-dir", str(artifacts.out_dir), path=str(tmp_path)
    )

    assert result.returncode == 1
    assert "the AWS CLI (`aws`) is not on PATH" in result.stderr
    assert result.stdout == ""


def test_deploy_needs_a_packaged_build(tmp_path):
    config = deploy.DeployConfig(stack="lake", assets_bucket="b", build_dir=tmp_path)

    with pytest.raises(deploy.DeployError, match="run `make package`"):
        deploy.stack_commands(config)


def _view(name: str, body: str) -> SqlFile:
    text = f"-- {name}?\nCREATE OR REPLACE VIEW {name} AS {body}\n"
    return SqlFile(kind="view", name=name, path=Path(f"{name}.sql"), text=text, question=f"{name}?")


def test_views_run_after_the_views_they_select_from():
    views = [
        _view("a_latest", "SELECT * FROM z_base JOIN m_middle USING (id)"),
        _view("m_middle", "SELECT * FROM z_base"),
        _view("z_base", "SELECT * FROM tracks"),
    ]

    ordered = deploy.views_in_dependency_order(views)

    assert [v.name for v in ordered] == ["z_base", "m_middle", "a_latest"]


def test_views_in_a_cycle_are_refused(monkeypatch, capsys):
    views = [_view("one", "SELECT * FROM two"), _view("two", "SELECT * FROM one")]
    monkeypatch.setattr(deploy, "read_sql_files", lambda: views)

    code = deploy.main(["--stack", "lake", "--assets-bucket", "b", "--views-only", "--dry-run"])

    assert code == 1
    assert (
        capsys.readouterr().err == "ERROR: sql/athena/views reference each other in a cycle: ['one', 'two']\n"
    )


def _make_test_glue(path: str) -> subprocess.CompletedProcess[str]:
    make = shutil.which("make")
    assert make is not None
    return subprocess.run(
        [make, "--no-print-directory", "test-glue"],
        capture_output=True, text=True, cwd=REPO_ROOT, env={"PATH": path}, check=False, timeout=120,
    )  # fmt: skip


def test_test_glue_without_docker_says_so_and_fails(tmp_path):
    result = _make_test_glue(str(tmp_path))

    assert result.returncode != 0
    assert "the docker CLI is not on PATH" in result.stderr


def test_test_glue_without_a_docker_engine_says_so_and_fails(tmp_path):
    docker = tmp_path / "docker"
    docker.write_text("#!/bin/sh\necho 'Cannot connect to the Docker daemon' >&2\nexit 1\n")
    docker.chmod(0o755)

    result = _make_test_glue(str(tmp_path))

    assert result.returncode != 0
    assert "needs a running Docker engine, and none is reachable" in result.stderr


_FAKE_AWS = """#!{python}
import json, pathlib, sys
args = sys.argv[1:]
pathlib.Path({log!r}).open("a").write(json.dumps(args) + "\\n")
if args[:2] == ["glue", "get-tables"]:
    print(json.dumps({tables}))
elif args[:2] == ["athena", "start-query-execution"]:
    print(json.dumps({{"QueryExecutionId": "q-" + pathlib.Path(args[args.index("--query-string") + 1]).stem}}))
elif args[:2] == ["athena", "get-query-execution"]:
    print(json.dumps({{"QueryExecution": {{"Status": {{"State": "SUCCEEDED"}}}}}}))
"""


def _fake_aws(tmp_path: Path, tables: list[str]) -> Path:
    """A stand-in for the AWS CLI that records its calls and answers like the CLI does (JSON output)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "aws-calls.jsonl"
    script = bin_dir / "aws"
    script.write_text(_FAKE_AWS.format(python=sys.executable, log=str(log), tables=tables))
    script.chmod(0o755)
    return log


def _calls(log: Path) -> list[list[str]]:
    import json

    return [json.loads(line) for line in log.read_text().splitlines()]


def test_views_are_not_created_when_the_stack_lacks_a_table(artifacts, tmp_path):
    log = _fake_aws(tmp_path, tables=["tracks"])

    result = _run_deploy(
        "--stack", "lake", "--assets-bucket", "b", "--build-dir", str(artifacts.out_dir), "--views-only",
        path=f"{tmp_path / 'bin'}:/usr/bin:/bin",
    )  # fmt: skip

    assert result.returncode == 0, result.stderr
    assert "Athena views not created: the stack has no table" in result.stdout
    assert "playlist_snapshots, playlist_items, albums, artists, track_artists" in result.stdout
    assert [c[:2] for c in _calls(log)] == [["glue", "get-tables"]]


def test_views_are_created_in_dependency_order_once_the_tables_exist(artifacts, tmp_path):
    from spotify_etl.transform.registry import CURATED_TABLES

    log = _fake_aws(tmp_path, tables=list(CURATED_TABLES))
    expected = [v.name for v in deploy.views_in_dependency_order(deploy.read_sql_files())]

    result = _run_deploy(
        "--stack", "lake", "--assets-bucket", "b", "--build-dir", str(artifacts.out_dir), "--views-only",
        path=f"{tmp_path / 'bin'}:/usr/bin:/bin",
    )  # fmt: skip
    started = [
        Path(c[c.index("--query-string") + 1]).stem for c in _calls(log) if c[1] == "start-query-execution"
    ]

    assert result.returncode == 0, result.stderr
    assert started == expected
    assert [f"view {name}: created" for name in expected] == [
        line for line in result.stdout.splitlines() if line.startswith("view ")
    ]
