"""`make ... GLUE_VERSION=5.0|6.0`: each version's venv and Python, and a one-line refusal of any other version."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from infra.scripts.cfn import REPO_ROOT


def _make_n(*args: str) -> subprocess.CompletedProcess[str]:
    """What make would run (``-n``: printed, not run)."""
    make = shutil.which("make")
    assert make is not None
    return subprocess.run(
        [make, "-n", "--no-print-directory", *args], cwd=REPO_ROOT, capture_output=True, text=True
    )


@pytest.mark.parametrize(("version", "venv"), [("5.0", ".venv"), ("6.0", ".venv-glue6")])
def test_run_and_bench_use_the_venv_of_the_glue_version(version, venv):
    run = _make_n("run", f"GLUE_VERSION={version}")
    bench = _make_n("bench", f"GLUE_VERSION={version}", "TIER=M")

    assert run.returncode == 0 and bench.returncode == 0, run.stderr + bench.stderr
    assert f"{venv}/bin/spotify-etl run --lake lake" in run.stdout
    assert f"{venv}/bin/python -m bench.run --tier M" in bench.stdout


def test_deploy_packages_and_deploys_the_asked_glue_version_and_lambda_architecture():
    result = _make_n(
        "deploy", "STACK=s", "ASSETS_BUCKET=b", "GLUE_VERSION=6.0", "LAMBDA_ARCHITECTURE=arm64", "DRY_RUN=1"
    )

    assert result.returncode == 0, result.stderr
    assert ".venv-glue6/bin/python -m infra.scripts.package --out build --glue-version 6.0 " in result.stdout
    assert "--lambda-architecture arm64" in result.stdout
    assert '--parameter "GlueVersion=6.0"' in result.stdout
    assert '--parameter "LambdaArchitecture=arm64"' in result.stdout


def test_an_unknown_glue_version_is_refused_in_one_line():
    result = _make_n("test", "GLUE_VERSION=4.0")

    assert result.returncode != 0
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1
    assert "GLUE_VERSION must be 5.0 or 6.0, not '4.0'" in result.stderr
