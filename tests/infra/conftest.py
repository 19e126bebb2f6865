"""Fixtures of the infrastructure tests: the source template, and one offline build of every artifact."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from infra.scripts.cfn import SOURCE_TEMPLATE
from infra.scripts.package import Artifacts, package
from spotify_etl.cfn_template import load_template


@pytest.fixture(scope="session")
def template() -> dict[str, Any]:
    """infra/cloudformation/template.yaml, short-form tags expanded."""
    return load_template(SOURCE_TEMPLATE)


@pytest.fixture(scope="session")
def resources(template: dict[str, Any]) -> dict[str, Any]:
    return template["Resources"]


@pytest.fixture(scope="session")
def artifacts(tmp_path_factory: pytest.TempPathFactory) -> Artifacts:
    """What `make package` builds, built once into a temporary directory (offline, from .venv-lambda/x86_64)."""
    return package(tmp_path_factory.mktemp("build"))


@pytest.fixture(scope="session")
def rendered(artifacts: Artifacts) -> dict[str, Any]:
    return load_template(artifacts.template)


def fake_sub(value: Any, names: dict[str, str]) -> str:
    """Resolve a ``Fn::Sub`` string (or plain string / Ref) with made-up values, like CloudFormation would."""
    import re

    if isinstance(value, dict) and "Ref" in value:
        return names[value["Ref"]]
    if isinstance(value, dict) and "Fn::Sub" in value:
        value = value["Fn::Sub"]
    if not isinstance(value, str):
        raise AssertionError(f"cannot resolve {value!r}")
    return re.sub(r"\$\{([^}]+)\}", lambda m: names[m.group(1)], value)


FAKE_NAMES = {
    "AWS::StackName": "lake-stack",
    "AWS::Region": "eu-west-1",
    "AWS::AccountId": "123456789012",
    "AWS::Partition": "aws",
    "DataBucket": "lake-data-bucket",
    "DataBucket.Arn": "arn:aws:s3:::lake-data-bucket",
    "AssetsBucket": "lake-assets",
    "AssetsPrefix": "lake-stack",
}


@pytest.fixture(scope="session")
def repo_root() -> Path:
    from infra.scripts.cfn import REPO_ROOT

    return REPO_ROOT
