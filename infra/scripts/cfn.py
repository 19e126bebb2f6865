"""Write CloudFormation templates: the long-form YAML that ``make package`` renders; the repository's paths.

Templates are read by :mod:`spotify_etl.cfn_template` (short-form tags such as ``!GetAtt`` become their long
form, ``{"Fn::GetAtt": [resource, attribute]}``); :func:`dump_template` writes that long form back out, which
CloudFormation and ``aws cloudformation package`` accept unchanged.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from spotify_etl.cfn_template import DEFAULT_TEMPLATE

REPO_ROOT = Path(__file__).resolve().parents[2]
SOURCE_TEMPLATE = DEFAULT_TEMPLATE  # infra/cloudformation/template.yaml


class _Dumper(yaml.SafeDumper):
    """Block-style YAML whose long strings (SQL) stay readable."""


def _represent_str(dumper: yaml.SafeDumper, data: str) -> yaml.ScalarNode:
    if "\n" in data:
        return dumper.represent_scalar("tag:yaml.org,2002:str", data, style="|")
    return dumper.represent_scalar("tag:yaml.org,2002:str", data)


_Dumper.add_representer(str, _represent_str)


def dump_template(document: dict[str, Any]) -> str:
    """YAML text of a template in long form (no tags), keys in their given order."""
    return yaml.dump(document, Dumper=_Dumper, sort_keys=False, width=120, allow_unicode=True)
