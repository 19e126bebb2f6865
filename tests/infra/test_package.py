"""What `make package` builds: a self-contained Lambda zip, an importable Glue library, the rendered template."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest

from infra.scripts import package as packaging
from infra.scripts.cfn import REPO_ROOT
from infra.scripts.locked import LAMBDA_RUNTIME, LambdaRuntime
from spotify_etl.athena_sql import AthenaSqlError
from spotify_etl.cfn_template import load_template, resources_of_type

# Run Python with nothing but the stdlib on sys.path (-I: no env vars, no cwd; -S: no site-packages).
_ISOLATED = [sys.executable, "-I", "-S", "-c"]


def _lambda_python() -> str:
    """An interpreter of the Lambda runtime's Python version (the zip holds compiled modules for it)."""
    found = subprocess.run(
        [str(REPO_ROOT / "tools" / "find-python"), LAMBDA_RUNTIME.python_version],
        capture_output=True,
        text=True,
    )
    if found.returncode != 0:
        pytest.skip(
            f"the Lambda's zip runs on Python {LAMBDA_RUNTIME.python_version}: {found.stderr.strip()}"
        )
    return found.stdout.strip()


def _run_isolated(code: str, *path_entries: Path, python: str = sys.executable) -> dict:
    prelude = f"import sys; sys.path[:0] = {[str(p) for p in path_entries]!r}\n"
    result = subprocess.run(
        [python, *_ISOLATED[1:], prelude + textwrap.dedent(code)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------- Lambda zip


def test_lambda_zip_holds_the_extractor_and_its_pinned_dependencies_only(artifacts):
    names = zipfile.ZipFile(artifacts.lambda_zip).namelist()
    top_level = {n.split("/")[0] for n in names}

    assert "extract_lambda/handler.py" in names
    assert {"spotipy", "redis", "requests", "urllib3", "boto3", "botocore"} <= top_level
    assert "spotipy-2.26.0.dist-info" in top_level
    assert not {"pyspark", "spotify_etl", "py4j", "glue_jobs", "tests"} & top_level
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]


def test_lambda_zip_holds_only_what_the_lambda_runs(artifacts):
    """Every module of the zip's extract_lambda is imported by the handler: no local-only code ships."""
    names = zipfile.ZipFile(artifacts.lambda_zip).namelist()
    zipped = {n.removesuffix(".py").replace("/", ".") for n in names if n.startswith("extract_lambda/")}
    code = "import json, sys, extract_lambda.handler; print(json.dumps(sorted(m for m in sys.modules if 'extract_lambda' in m)))"
    run = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO_ROOT
    )
    assert sorted(zipped - {"extract_lambda.__init__"} | {"extract_lambda"}) == json.loads(run.stdout)
    archive = zipfile.ZipFile(artifacts.lambda_zip)
    sources = [archive.read(n).decode() for n in names if n.startswith("extract_lambda/")]
    assert not [line for text in sources for line in text.splitlines() if line.startswith("class Local")]


def test_lambda_zip_fits_the_lambda_limits(artifacts):
    archive = zipfile.ZipFile(artifacts.lambda_zip)

    assert artifacts.lambda_zip.stat().st_size < 50 * 1024 * 1024  # direct upload limit (zipped)
    assert sum(i.file_size for i in archive.infolist()) < 250 * 1024 * 1024  # unzipped limit


def test_lambda_handler_imports_and_runs_from_the_zip_alone(artifacts, tmp_path):
    """Only the zip's contents and the stdlib are importable, as on the Lambda runtime (minus its boto3).

    Run by the Lambda's Python (3.13), whatever Python runs the suite: the zip's compiled modules are its.
    """
    site = tmp_path / "lambda"
    zipfile.ZipFile(artifacts.lambda_zip).extractall(site)

    report = _run_isolated(
        """
        import json, os, sys
        import extract_lambda.handler as h
        os.environ.clear()
        try:
            h.handler({}, None)
            error = None
        except h.ConfigError as exc:
            error = str(exc)
        outside = sorted(
            name for name, m in list(sys.modules.items())
            if getattr(m, "__file__", None) and not m.__file__.startswith((sys.path[0], sys.base_prefix))
        )
        missing = []
        for name in ("pyspark", "spotify_etl", "duckdb"):
            try:
                __import__(name)
            except ModuleNotFoundError:
                missing.append(name)
        import spotipy, redis, boto3
        print(json.dumps({"error": error, "outside": outside, "missing": missing,
                          "spotipy": spotipy.__file__, "boto3": boto3.__file__,
                          "charset_normalizer_compiled": __import__("charset_normalizer.md").md.__file__}))
        """,
        site,
        python=_lambda_python(),
    )

    assert report["error"] == "missing environment variables: RAW_BUCKET, SPOTIFY_SECRET_ARN"
    assert report["outside"] == []
    assert report["missing"] == ["pyspark", "spotify_etl", "duckdb"]
    assert report["spotipy"].startswith(str(site))
    assert report["boto3"].startswith(str(site))
    assert report["charset_normalizer_compiled"].endswith(".cpython-313-x86_64-linux-gnu.so")


def test_lambda_zip_needs_the_installed_lambda_site(tmp_path):
    with pytest.raises(packaging.PackagingError, match="run `make package`"):
        packaging.build_lambda_zip(tmp_path / "out", site=tmp_path / "no-site")


# ---------------------------------------------------------------- Glue library


def test_glue_library_holds_the_glue_side_modules_only(artifacts):
    names = set(zipfile.ZipFile(artifacts.glue_library).namelist())

    assert {
        "spotify_etl/__init__.py",
        "spotify_etl/config.py",
        "spotify_etl/lake.py",
        "spotify_etl/sparkutil.py",
        "spotify_etl/runtime/__init__.py",
        "spotify_etl/runtime/glue.py",
        "spotify_etl/transform/__init__.py",
        "spotify_etl/transform/schema.py",
    } <= names
    assert {n.split("/")[1] for n in names if n.count("/") > 1} == {"runtime", "transform"}
    assert {n for n in names if n.startswith("spotify_etl/runtime/")} == {
        "spotify_etl/runtime/__init__.py",
        "spotify_etl/runtime/glue.py",
        "spotify_etl/runtime/run_metrics.py",
    }
    assert not [
        n
        for n in names
        if n.startswith(
            (
                "spotify_etl/cli",
                "spotify_etl/runtime/local",
                "spotify_etl/aws_twin",
                "spotify_etl/devtools",
                "spotify_etl/commands",
            )
        )
    ]


def test_glue_library_imports_with_only_pyspark_available(artifacts, tmp_path):
    """Glue puts the --extra-py-files zip on sys.path next to its pyspark: nothing else may be needed."""
    import py4j
    import pyspark

    shim = tmp_path / "only-pyspark"
    shim.mkdir()
    for module in (pyspark, py4j):
        source = Path(module.__file__).parent
        (shim / source.name).symlink_to(source, target_is_directory=True)

    report = _run_isolated(
        """
        import importlib, json, pkgutil, sys
        import spotify_etl.transform as transform
        modules = ["spotify_etl", "spotify_etl.config", "spotify_etl.lake", "spotify_etl.sparkutil", "spotify_etl.runtime.glue"]
        modules += [m.name for m in pkgutil.walk_packages(transform.__path__, "spotify_etl.transform.")]
        files = {name: importlib.import_module(name).__file__ for name in modules}
        import spotify_etl.runtime.glue as glue
        missing = []
        for name in ("duckdb", "yaml", "awsglue"):
            try:
                __import__(name)
            except ModuleNotFoundError:
                missing.append(name)
        print(json.dumps({"files": files, "run_glue_job": callable(glue.run_glue_job), "missing": missing}))
        """,
        artifacts.glue_library,
        shim,
    )

    assert "spotify_etl.transform.schema" in report["files"]
    assert all(f.startswith(str(artifacts.glue_library)) for f in report["files"].values()), report["files"]
    assert report["run_glue_job"] is True
    assert report["missing"] == ["duckdb", "yaml", "awsglue"]


def test_glue_library_is_reproducible_and_named_by_its_content(tmp_path):
    first = packaging.build_glue_library(tmp_path / "a")
    second = packaging.build_glue_library(tmp_path / "b")

    assert first.name == second.name
    assert first.read_bytes() == second.read_bytes()
    assert first.name.startswith("spotify_etl_glue-") and len(first.stem) == len("spotify_etl_glue-") + 12


# ---------------------------------------------------------------- rendered template


def test_rendered_code_locations_point_at_the_built_artifacts(rendered, artifacts):
    resources = rendered["Resources"]
    code = resources["ExtractFunction"]["Properties"]["Code"]
    job = resources["TransformJob"]["Properties"]

    assert (artifacts.template.parent / code).resolve() == artifacts.lambda_zip
    assert (artifacts.template.parent / job["Command"]["ScriptLocation"]).resolve() == artifacts.glue_script
    assert job["DefaultArguments"]["--extra-py-files"] == {
        "Fn::Sub": f"s3://${{AssetsBucket}}/${{AssetsPrefix}}/glue/{artifacts.glue_library.name}"
    }


def test_rendered_template_defaults_to_the_packaged_glue_version_and_allows_only_the_zips_architecture(
    tmp_path,
):
    arm = packaging.package(
        tmp_path / "arm", glue_version="6.0", lambda_runtime=LambdaRuntime(architecture="arm64")
    )
    parameters = load_template(arm.template)["Parameters"]
    installed = {
        name.split("/")[-1]
        for name in zipfile.ZipFile(arm.lambda_zip).namelist()
        if name.startswith("charset_normalizer/") and name.endswith(".so")
    }

    assert (parameters["GlueVersion"]["Default"], parameters["GlueVersion"]["AllowedValues"]) == (
        "6.0",
        ["5.0", "6.0"],
    )
    assert (
        parameters["LambdaArchitecture"]["Default"],
        parameters["LambdaArchitecture"]["AllowedValues"],
    ) == (
        "arm64",
        ["arm64"],
    )
    assert installed and all(name.endswith(".cpython-313-aarch64-linux-gnu.so") for name in installed)


def test_an_unknown_glue_version_is_refused(tmp_path):
    with pytest.raises(packaging.PackagingError, match=r"Glue version '4\.0' is not one of 5\.0, 6\.0"):
        packaging.package(tmp_path, glue_version="4.0")


def test_rendered_named_queries_equal_the_sql_files(rendered):
    queries = {
        q["Properties"]["Name"]: q["Properties"]
        for q in resources_of_type(rendered, "AWS::Athena::NamedQuery").values()
    }
    files = sorted((REPO_ROOT / "sql" / "athena").glob("*/*.sql"))

    assert files, "sql/athena has no .sql files"
    assert sorted(queries) == sorted(f.stem for f in files)
    for path in files:
        query = queries[path.stem]
        first_line = path.read_text().splitlines()[0]
        assert query["QueryString"] == path.read_text(encoding="utf-8"), path
        assert first_line.startswith("-- ") and first_line[3:].strip() in query["Description"], path
        assert query["Database"] == {"Ref": "GlueDatabase"}
        assert query["WorkGroup"] == {"Ref": "AthenaWorkGroup"}


def test_sql_files_without_their_question_are_refused(tmp_path):
    (tmp_path / "views").mkdir()
    (tmp_path / "queries").mkdir()
    (tmp_path / "queries" / "top_tracks.sql").write_text("SELECT 1\n")

    with pytest.raises(AthenaSqlError, match=r"top_tracks\.sql: the first line must be a `-- ` comment"):
        packaging.package(tmp_path / "build", sql_root=tmp_path)  # refused before anything is built


def test_view_files_must_create_the_view_they_are_named_after(tmp_path):
    (tmp_path / "views").mkdir()
    (tmp_path / "queries").mkdir()
    (tmp_path / "views" / "current_tracks.sql").write_text(
        "-- q?\nCREATE OR REPLACE VIEW other AS SELECT 1\n"
    )

    with pytest.raises(AthenaSqlError, match="CREATE OR REPLACE VIEW current_tracks"):
        packaging.package(tmp_path / "build", sql_root=tmp_path)


def test_named_query_ids_are_stable_camel_case():
    view = packaging.SqlFile(kind="view", name="current_tracks", path=Path("x"), text="", question="")

    assert packaging.named_query_logical_id(view) == "AthenaViewCurrentTracks"


# ---------------------------------------------------------------- Glue image


def test_dockerfile_glue_builds_on_the_glue_5_image_as_hadoop():
    lines = (REPO_ROOT / "Dockerfile.glue").read_text().splitlines()
    instructions = [line for line in lines if line and not line.startswith("#")]

    assert instructions[0] == "FROM public.ecr.aws/glue/aws-glue-libs:5"
    assert "USER hadoop" in instructions
    assert "WORKDIR /home/hadoop/workspace" in instructions
