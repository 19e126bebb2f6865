"""uv.lock is the one source of every installed version: the venv, the Lambda's zip and the Glue image follow it."""

from __future__ import annotations

import importlib.metadata
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.markers import Marker
from packaging.utils import canonicalize_name

from infra.scripts import locked
from infra.scripts.cfn import REPO_ROOT

# The Lambda runtime (python3.13 on Linux) as PEP 508 marker variables, per architecture.
LAMBDA_MARKER_ENV = {
    "python_version": "3.13",
    "python_full_version": "3.13.0",
    "sys_platform": "linux",
    "platform_system": "Linux",
    "os_name": "posix",
    "implementation_name": "cpython",
    "platform_python_implementation": "CPython",
    "extra": "group-11-spotify-etl-lambda",  # uv's marker for "the lambda group is installed"
}


def _uv_lock_check(project: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(locked.UV), "lock", "--check", "--offline"], cwd=project, capture_output=True, text=True
    )


def _copy_project_files(target: Path) -> Path:
    for name in ("pyproject.toml", "uv.lock", "README.md", "tools/checkov/pyproject.toml"):
        (target / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(REPO_ROOT / name, target / name)
    return target


def _lock_packages() -> list[dict]:
    return tomllib.loads(locked.LOCK_FILE.read_text(encoding="utf-8"))["package"]


def _locked_closure(group: str, env: dict[str, str]) -> dict[str, str]:
    """Name -> version of the project's dependency ``group`` and all it needs on ``env``, from uv.lock's graph."""
    packages = _lock_packages()
    (project,) = [p for p in packages if p["name"] == "spotify-etl"]
    by_name: dict[str, list[dict]] = {}
    for package in packages:
        by_name.setdefault(canonicalize_name(package["name"]), []).append(package)

    def pick(name: str, version: str | None) -> dict:
        candidates = [p for p in by_name[name] if version is None or p["version"] == version]
        assert len(candidates) == 1, f"{name} {version}: {len(candidates)} packages in the lock"
        return candidates[0]

    closure: dict[str, str] = {}
    todo = [pick(canonicalize_name(d["name"]), d.get("version")) for d in project["dev-dependencies"][group]]
    while todo:
        package = todo.pop()
        name = canonicalize_name(package["name"])
        if name in closure:
            continue
        closure[name] = package["version"]
        for dependency in package.get("dependencies", []):
            if "marker" in dependency and not Marker(dependency["marker"]).evaluate(env):
                continue
            todo.append(pick(canonicalize_name(dependency["name"]), dependency.get("version")))
    return closure


def _dist_infos(site: Path) -> dict[str, str]:
    installed = {}
    for dist in importlib.metadata.distributions(path=[str(site)]):
        installed[canonicalize_name(dist.metadata["Name"])] = dist.version
    return installed


def _requirement_pins(requirements: str) -> dict[str, str]:
    return {
        canonicalize_name(m.group(1)): m.group(2)
        for m in re.finditer(r"^([A-Za-z0-9_.-]+)(?:\[[^\]]*\])?==([^\s;\\]+)", requirements, re.MULTILINE)
    }


# ---------------------------------------------------------------- the lock agrees with pyproject.toml


def test_the_committed_lock_agrees_with_pyproject():
    result = _uv_lock_check(REPO_ROOT)

    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ('"sqlglot==30.30.0"', '"sqlglot==30.29.0"'),  # a pin moved by hand
        ('"PyYAML==6.0.3",', '"PyYAML==6.0.3",\n    "tabulate==0.9.0",'),  # a dependency added by hand
        ('bench = ["psutil==7.2.2"]', "bench = []"),  # a group emptied by hand
    ],
)
def test_a_pyproject_change_without_make_lock_is_refused(tmp_path, before, after):
    project = _copy_project_files(tmp_path)
    pyproject = project / "pyproject.toml"
    assert before in pyproject.read_text()
    pyproject.write_text(pyproject.read_text().replace(before, after, 1))

    result = _uv_lock_check(project)

    assert result.returncode != 0
    assert "lockfile" in result.stderr.lower() or "unsatisfiable" in result.stderr.lower(), result.stderr


# ---------------------------------------------------------------- what is installed is what is locked


def _installed_here() -> dict[str, str]:
    """The distributions of the venv running the tests (not the base interpreter's)."""
    site_packages = [p for p in sys.path if p.startswith(sys.prefix) and p.endswith("site-packages")]
    assert site_packages, sys.path
    installed = {}
    for site in site_packages:
        installed.update(_dist_infos(Path(site)))
    return installed


def test_every_distribution_in_the_venv_is_pinned_by_the_lock():
    locked_versions = locked.locked_versions()
    installed = _installed_here()
    unpinned = {name: v for name, v in installed.items() if v not in locked_versions.get(name, set())}

    assert {"pyspark", "pytest", "chispa", "duckdb"} <= installed.keys()
    assert unpinned == {}


def test_make_run_installs_no_test_lint_bench_or_lambda_tool():
    runtime = _requirement_pins(locked.export_requirements())

    assert {
        "pyspark",
        "awsgluedataplanepython",
        "spotipy",
        "duckdb",
        "sqlglot",
        "matplotlib",
    } <= runtime.keys()
    assert not runtime.keys() & {
        "pytest",
        "chispa",
        "hypothesis",
        "moto",
        "ruff",
        "mypy",
        "cfn-lint",
        "psutil",
    }
    assert not runtime.keys() & {"checkov", "boto3-stubs", "types-pyyaml"}


def test_the_bootstrapped_uv_is_the_version_pyproject_requires():
    required = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["tool"]["uv"]["required-version"]
    bootstrap = _requirement_pins((REPO_ROOT / "tools" / "uv-requirements.txt").read_text())

    assert required == f"=={bootstrap['uv']}"
    assert "--hash=sha256:" in (REPO_ROOT / "tools" / "uv-requirements.txt").read_text()


# ---------------------------------------------------------------- the Lambda and the Glue image follow the lock


@pytest.mark.parametrize(("architecture", "machine"), [("x86_64", "x86_64"), ("arm64", "aarch64")])
def test_the_lambda_site_holds_the_locked_closure_of_the_lambda_group_at_the_tested_versions(
    architecture, machine
):
    expected = _locked_closure("lambda", {**LAMBDA_MARKER_ENV, "platform_machine": machine})
    installed = _dist_infos(locked.LambdaRuntime(architecture=architecture).site / "python")

    assert installed == expected
    tested = {name: v for name, v in _installed_here().items() if name in expected}
    assert {"spotipy", "requests", "boto3", "botocore", "urllib3"} <= tested.keys()
    assert tested == {name: expected[name] for name in tested}


@pytest.mark.parametrize(("architecture", "machine"), [("x86_64", "x86_64"), ("arm64", "aarch64")])
def test_the_lambda_site_is_built_for_the_lambda_platform(architecture, machine):
    """charset-normalizer ships compiled code: its extension must be the Lambda's (Linux, CPython 3.13)."""
    site = locked.LambdaRuntime(architecture=architecture).site
    extensions = sorted(p.name for p in (site / "python").rglob("*.so"))

    assert extensions
    assert all(f"cpython-313-{machine}-linux-gnu" in name for name in extensions), extensions


def test_an_unknown_lambda_architecture_is_refused():
    with pytest.raises(ValueError, match="Lambda architecture 'ppc64le' is not one of x86_64, arm64"):
        locked.LambdaRuntime(architecture="ppc64le")


def test_the_glue_image_gets_the_locked_test_requirements_but_not_its_own_spark():
    requirements = locked.glue_image_requirements()
    pins = _requirement_pins(requirements)
    versions = locked.locked_versions()

    assert {"pytest", "chispa", "hypothesis", "moto", "spotipy", "duckdb", "pyyaml"} <= pins.keys()
    assert not pins.keys() & {"pyspark", "py4j", "awsgluedataplanepython", "ruff", "mypy", "psutil"}
    assert all(version in versions[name] for name, version in pins.items())
    blocks = re.split(r"\n(?=[A-Za-z0-9])", requirements.strip())
    assert all("--hash=sha256:" in block for block in blocks if not block.startswith("#")), requirements


# ---------------------------------------------------------------- the interpreter make installs with


def _find_python(version: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(REPO_ROOT / "tools" / "find-python"), version], capture_output=True, text=True, env=env or None
    )


def test_find_python_prints_an_interpreter_of_the_asked_version():
    result = _find_python("3.11")
    found = subprocess.run([result.stdout.strip(), "--version"], capture_output=True, text=True)

    assert result.returncode == 0, result.stderr
    assert found.stdout.startswith("Python 3.11.")


def test_find_python_says_in_one_line_how_to_install_a_missing_version(tmp_path):
    result = _find_python("3.99", PATH=f"{tmp_path}:/usr/bin:/bin", PYENV_ROOT=str(tmp_path))

    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("ERROR: Python 3.99 is missing") and "pyenv install 3.99" in result.stderr


def test_find_python_prints_the_interpreter_behind_a_launcher_not_the_launcher(tmp_path):
    # A pyenv shim is a launcher: uv compares a venv's interpreter with the requested path, and re-creates the venv
    # (its compiled modules and class-data archive too) when the request names a launcher.
    interpreter = subprocess.run(
        [_find_python("3.11").stdout.strip(), "-c", "import sys; print(sys.executable)"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    launcher = tmp_path / "python3.11"
    launcher.write_text(f'#!/bin/sh\nexec "{interpreter}" "$@"\n')
    launcher.chmod(0o755)

    result = _find_python("3.11", PATH=f"{tmp_path}:/usr/bin:/bin", PYENV_ROOT=str(tmp_path))

    assert result.returncode == 0, result.stderr
    assert result.stdout == f"{interpreter}\n"
