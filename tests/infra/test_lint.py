"""cfn-lint (zero errors and warnings) and checkov (zero failed checks) on the source and rendered templates."""

from __future__ import annotations

import copy
import json
import os
import shutil
import subprocess

import pytest
from cfnlint.api import ManualArgs, lint_file

from infra.scripts.cfn import REPO_ROOT, SOURCE_TEMPLATE, dump_template

pytestmark = pytest.mark.slow  # a module of slower tests: scheduled first (tests/conftest.py)

REGIONS = ["us-east-1", "eu-west-1"]
CHECKOV = REPO_ROOT / ".venv-tools" / "bin" / "checkov"


def _lint(path, **options):
    return [
        f"{m.rule.id} {m.linenumber}: {m.message}"
        for m in lint_file(path, config=ManualArgs(regions=REGIONS, **options))
    ]


def test_cfn_lint_source_template_has_no_errors_or_warnings():
    assert _lint(SOURCE_TEMPLATE) == []


def test_cfn_lint_rendered_template_has_no_errors_or_warnings(rendered, tmp_path):
    """The rendered template as `aws cloudformation package` leaves it: local code paths become S3 locations."""
    packaged = copy.deepcopy(rendered)
    resources = packaged["Resources"]
    resources["ExtractFunction"]["Properties"]["Code"] = {
        "S3Bucket": "my-assets",
        "S3Key": "lake/cfn/0123abcd",
    }
    resources["TransformJob"]["Properties"]["Command"]["ScriptLocation"] = "s3://my-assets/lake/cfn/4567ef01"
    path = tmp_path / "packaged.yaml"
    path.write_text(dump_template(packaged))

    assert _lint(path) == []


def test_cfn_lint_reports_a_broken_template(tmp_path):
    """The lint test can fail: a Glue job without its required Role is an error."""
    broken = tmp_path / "broken.yaml"
    broken.write_text(SOURCE_TEMPLATE.read_text().replace("      Role: !GetAtt TransformRole.Arn\n", "", 1))

    assert any(line.startswith("E") for line in _lint(broken))


def _checkov(workdir, **templates):
    """Run checkov on copies named ``<key>.yaml`` inside ``workdir``, by relative path.

    Relative short names on purpose: checkov's secret check (CKV_AWS_45) can see the template's own path
    and flags any 40-character path as an AWS secret key ("/work/main/infra/cloudformation/template" is one).
    """
    if not CHECKOV.exists():
        pytest.fail(f"{CHECKOV} is missing: run `make install` (it creates .venv-tools/ with checkov)")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BC_", "PRISMA_"))}
    command = [str(CHECKOV), "--framework", "cloudformation", "--skip-download", "--output", "json"]
    for name, path in templates.items():
        shutil.copyfile(path, workdir / f"{name}.yaml")
        command += ["--file", f"{name}.yaml"]
    result = subprocess.run(
        command, capture_output=True, text=True, env=env, cwd=workdir, check=False, timeout=300
    )
    report = json.loads(result.stdout)
    return result, report if isinstance(report, list) else [report]


def test_checkov_has_no_failed_checks_and_every_skip_says_why(artifacts, tmp_path):
    result, reports = _checkov(tmp_path, source=SOURCE_TEMPLATE, rendered=artifacts.template)
    failed = [
        f"{c['check_id']} {c['resource']} ({c['file_path']})"
        for r in reports
        for c in r["results"]["failed_checks"]
    ]
    skipped = [c for r in reports for c in r["results"]["skipped_checks"]]

    assert failed == [], result.stdout[-2000:]
    assert result.returncode == 0
    assert [r["summary"]["parsing_errors"] for r in reports] == [0]
    assert sum(r["summary"]["passed"] for r in reports) > 100
    assert all(len(c["check_result"].get("suppress_comment") or "") > 20 for c in skipped), skipped
    # CKV_AWS_116 (DLQ): failed events go to the on-failure destination instead (template comment)
    assert {c["check_id"] for c in skipped} == {"CKV_AWS_18", "CKV_AWS_116", "CKV_AWS_117"}


def test_checkov_reports_a_public_bucket(tmp_path):
    """The checkov test can fail: a bucket that allows public ACLs is a failed check."""
    broken = tmp_path / "broken-input.yaml"
    broken.write_text(SOURCE_TEMPLATE.read_text().replace("BlockPublicAcls: true", "BlockPublicAcls: false"))

    _, reports = _checkov(tmp_path, broken=broken)

    assert any(c["check_id"] == "CKV_AWS_53" for r in reports for c in r["results"]["failed_checks"])
