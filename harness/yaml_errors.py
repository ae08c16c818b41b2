"""Validate YAML documents with pydantic, with errors that name the file, the field path and the line.

pydantic reports where a value failed as a location path (``sites.0.access_points.0.capacity``);
:func:`validate_yaml` walks the same path down the ``yaml.compose`` node tree to the node's mark, so
the error says ``file:line: field: message``. Unknown fields point at the offending key, missing
fields at the mapping that lacks them.
"""

from __future__ import annotations

import re
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from .errors import ConfigError

M = TypeVar("M", bound=BaseModel)


def _node_for(root: yaml.Node | None, loc: tuple[Any, ...]) -> yaml.Node | None:
    """The deepest YAML node found along the path ``loc`` (parts not in the document are skipped)."""
    node = root
    found: yaml.Node | None = root
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode) and key.value == str(part):
                    found, node = key if value is None else value, value
                    break
            else:
                # a discriminator or union branch name that is not in the document: skip it
                continue
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = found = node.value[part]
        else:
            continue
    return found


def _key_node(root: yaml.Node | None, loc: tuple[Any, ...]) -> yaml.Node | None:
    """For an unknown field: the node of the offending key itself."""
    if not loc:
        return root
    parent = _node_for(root, loc[:-1])
    if isinstance(parent, yaml.MappingNode):
        for key, _value in parent.value:
            if isinstance(key, yaml.ScalarNode) and key.value == str(loc[-1]):
                return key
    return parent


_BRANCH = re.compile(r"^(function-|union\[|tagged-union\[|lax-or-strict|json-or-python)")


def _clean_loc(loc: tuple[Any, ...]) -> tuple[Any, ...]:
    return tuple(p for p in loc if not (isinstance(p, str) and _BRANCH.match(p)))


def validate_yaml(
    model: type[M], text: str, source: str, error: type[ConfigError], what: str = "a scenario"
) -> M:
    """Validate YAML ``text`` against ``model``; errors (``error``) name ``source``, the field and the line."""
    try:
        root = yaml.compose(text)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc)
        raise error(f"not valid YAML: {problem}", file=source, line=line) from None
    if not isinstance(data, dict):
        raise error(f"{what} is a YAML mapping", file=source, line=1)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        err = exc.errors(include_url=False)[0]
        loc = _clean_loc(tuple(err["loc"]))
        if err["type"] == "extra_forbidden":
            node = _key_node(root, loc)
            message = "unknown field"
        elif err["type"] == "missing":
            node = _key_node(root, loc[:-1])
            message = "missing required field"
        else:
            node = _node_for(root, loc)
            message = err["msg"].removeprefix("Value error, ")
        line = node.start_mark.line + 1 if node is not None else None
        field = ".".join(str(p) for p in loc) or "(scenario)"
        more = len(exc.errors()) - 1
        if more:
            message += f" (and {more} more error{'s' if more > 1 else ''})"
        raise error(message, file=source, field=field, line=line) from None
