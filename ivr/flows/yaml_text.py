"""YAML as the flow files, prompts and routing are written: safe loading, with libyaml's C parser
when PyYAML was built with it (about ten times faster than the pure-Python one; every process
start and every draft check parses the whole catalogue)."""

from __future__ import annotations

from typing import Any

import yaml

_SafeLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_MERGE = "tag:yaml.org,2002:merge"


class _Loader(_SafeLoader):  # type: ignore[valid-type,misc]
    """Safe loading that refuses a key given twice in one mapping (PyYAML keeps the last one
    silently: a number routed twice, a step field written twice, would lose the first)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[object] = set()
        for key_node, _ in node.value:
            if key_node.tag == _MERGE or not isinstance(key_node, yaml.ScalarNode):
                continue
            key = self.construct_object(key_node)
            if key in seen:
                problem = f"found duplicate key {key!r}"
                raise yaml.constructor.ConstructorError(
                    "while reading a mapping", node.start_mark, problem, key_node.start_mark
                )
            seen.add(key)
        mapping: dict[Any, Any] = super().construct_mapping(node, deep)
        return mapping


def load_yaml(text: str) -> object:
    """The document in `text`, as yaml.safe_load gives it; yaml.YAMLError when it is not YAML or
    a mapping has a key twice."""
    return yaml.load(text, Loader=_Loader)


def dump_yaml(data: Any) -> str:
    """YAML as a person writes it: keys in the given order, unicode as is, block style."""
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=1000, default_flow_style=False)
