"""The one reader of CloudFormation templates: YAML with the short-form tags, and the lookups callers share.

``infra/cloudformation/template.yaml`` uses ``!Ref``/``!Sub``/``!GetAtt`` (readable, and what cfn-lint
reads). Plain PyYAML rejects those tags, so :func:`parse_template` turns each into its long form, the
form CloudFormation documents (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/intrinsic-function-reference.html):

- ``!Ref X`` -> ``{"Ref": "X"}``;
- ``!GetAtt Resource.Attribute`` -> ``{"Fn::GetAtt": ["Resource", "Attribute"]}`` (a list stays a list);
- any other ``!Name value`` -> ``{"Fn::Name": value}`` (``!Sub``, ``!Join``, ``!If``, ...).

Its users: the local workflow runner and the local crawler (:mod:`spotify_etl.aws_twin`), and the infra
scripts (packaging, the catalog tables, destroy), which write templates back in long form
(``infra/scripts/cfn.py``). Standard library and PyYAML only.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

DEFAULT_TEMPLATE = Path(__file__).resolve().parents[1] / "infra" / "cloudformation" / "template.yaml"


class TemplateError(ValueError):
    """A template file is missing, is not YAML, or has no Resources section; the message says which."""


# libyaml's parser where PyYAML was built with it (the lock's wheels are): the same documents (its errors are
# worded differently), about ten times faster than the pure-Python one (0.017 s against 0.15 s for the template);
# the local crawler reads the template at every crawl (docs/performance.md, "The test suite's Python workers and
# the local twins' per-call costs").
_SafeLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _CfnLoader(_SafeLoader):  # type: ignore[valid-type,misc]
    """SafeLoader (libyaml's when built with it) plus CloudFormation's short-form tags."""


def _long_form(loader: yaml.SafeLoader, tag_suffix: str, node: yaml.Node) -> dict[str, Any]:
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    if tag_suffix == "Ref":
        return {"Ref": value}
    if tag_suffix == "GetAtt" and isinstance(value, str):
        resource, _, attribute = value.partition(".")
        return {"Fn::GetAtt": [resource, attribute]}
    return {f"Fn::{tag_suffix}": value}


_CfnLoader.add_multi_constructor("!", _long_form)


def parse_template(text: str, source: str = "the template") -> dict[str, Any]:
    """A template's text as plain data, short-form tags in their long form.

    Raises:
        TemplateError: ``{source} is not valid YAML: ...`` or ``{source} has no Resources section``.
    """
    try:
        document = yaml.load(text, Loader=_CfnLoader)  # a SafeLoader subclass
    except yaml.YAMLError as error:
        raise TemplateError(f"{source} is not valid YAML: {error}") from error
    if not isinstance(document, dict) or not isinstance(document.get("Resources"), dict):
        raise TemplateError(f"{source} has no Resources section")
    return document


def load_template(path: str | Path = DEFAULT_TEMPLATE) -> dict[str, Any]:
    """A template file as plain data (:func:`parse_template`); a missing file is a TemplateError too."""
    template_path = Path(path)
    if not template_path.is_file():
        raise TemplateError(f"no CloudFormation template at {template_path}")
    return parse_template(template_path.read_text(encoding="utf-8"), str(template_path))


def resources_of_type(template: Mapping[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    """Logical id -> resource, for every resource of one type (in template order)."""
    return {
        logical_id: resource
        for logical_id, resource in (template.get("Resources") or {}).items()
        if isinstance(resource, dict) and resource.get("Type") == resource_type
    }


def properties(resource: Mapping[str, Any]) -> dict[str, Any]:
    """A resource's ``Properties`` (empty when it declares none)."""
    found: dict[str, Any] = resource.get("Properties") or {}
    return found


def properties_of_type(template: Mapping[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    """Logical id -> ``Properties``, for every resource of one type."""
    return {rid: properties(resource) for rid, resource in resources_of_type(template, resource_type).items()}


def sub_text(value: Any) -> str | None:
    """A literal string, or the template string of ``Fn::Sub`` (either form); None for anything else."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and "Fn::Sub" in value:
        sub = value["Fn::Sub"]
        return sub if isinstance(sub, str) else str(sub[0]) if isinstance(sub, list) and sub else None
    return None


__all__ = [
    "DEFAULT_TEMPLATE",
    "TemplateError",
    "load_template",
    "parse_template",
    "properties",
    "properties_of_type",
    "resources_of_type",
    "sub_text",
]
