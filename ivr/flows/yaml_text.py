"""YAML as the flow files, prompts and routing are written: safe loading, with libyaml's C parser
when PyYAML was built with it (about ten times faster than the pure-Python one; every process
start and every draft check parses the whole catalogue)."""

from __future__ import annotations

from typing import Any

import yaml

_SafeLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_yaml(text: str) -> object:
    """The document in `text`, as yaml.safe_load gives it; yaml.YAMLError when it is not YAML."""
    return yaml.load(text, Loader=_SafeLoader)


def dump_yaml(data: Any) -> str:
    """YAML as a person writes it: keys in the given order, unicode as is, block style."""
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=1000, default_flow_style=False)
