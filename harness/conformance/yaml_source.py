"""Validate a YAML file against a pydantic model, with errors that name the file, field and line.

Used for the capability statement (``nac.yaml``) and the waivers file: pydantic says *what* is
wrong and *where in the data*; ``yaml.compose`` keeps the node marks that say *on which line*.
"""

from __future__ import annotations

from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from ..errors import ConfigError

M = TypeVar("M", bound=BaseModel)


def validate_yaml(
    text: str,
    model: type[M],
    *,
    source: str,
    error: type[ConfigError] = ConfigError,
    what: str = "file",
    messages: dict[str, str] | None = None,
) -> M:
    """Parse ``text`` and validate it as ``model``; raise ``error`` naming ``source``, field and line.

    ``messages`` overrides the wording for pydantic error types (e.g. ``union_tag_invalid``);
    ``{tag}`` in an override is the offending discriminator value.
    """
    try:
        root = yaml.compose(text)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        raise error(f"not valid YAML: {exc.problem or exc}", file=source, line=line) from None
    except yaml.YAMLError as exc:
        raise error(f"not valid YAML: {exc}", file=source) from None
    if data is None:
        raise error(f"the file is empty; a {what} is a mapping of fields", file=source, line=1)
    if not isinstance(data, dict):
        raise error(f"a {what} is a mapping of fields, not a {type(data).__name__}", file=source, line=1)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise located_error(exc, root, source, error, messages or {}) from None


def located_error(
    exc: ValidationError,
    root: yaml.Node | None,
    source: str,
    error: type[ConfigError],
    messages: dict[str, str],
) -> ConfigError:
    """One error for a pydantic ``ValidationError``: the first problem, then the others listed."""
    errors = exc.errors(include_url=False)
    first = errors[0]
    field, line = locate(root, tuple(first["loc"]), first["type"])
    message = _message(first, messages)
    for more in errors[1:]:
        more_field, more_line = locate(root, tuple(more["loc"]), more["type"])
        where = f"{source}:{more_line}" if more_line else source
        message += f"\n  also {where}: {more_field or '(top level)'}: {_message(more, messages)}"
    return error(message, file=source, field=field or "(top level)", line=line)


def _message(err: Any, messages: dict[str, str]) -> str:
    kind = err["type"]
    if kind in messages:
        return messages[kind].format(tag=err.get("ctx", {}).get("tag", "?"))
    if kind == "missing":
        return "required field is missing"
    if kind == "extra_forbidden":
        return "unknown field"
    msg = str(err["msg"])
    if kind == "value_error":  # a validator's own message, without pydantic's "Value error, " prefix
        return msg.removeprefix("Value error, ")
    msg = msg[0].lower() + msg[1:] if msg else msg
    return f"{msg}, got {err['input']!r}" if "input" in err and not isinstance(err["input"], dict) else msg


def locate(root: yaml.Node | None, loc: tuple[Any, ...], kind: str) -> tuple[str, int | None]:
    """Map a pydantic error location to a dotted field path and the YAML line it points at.

    Discriminated-union tags (``adapter.radius.host``) and validator names are not keys in the file:
    a location element that is not found in the current mapping, and is not the last, is dropped.
    """
    node = root
    path: list[str] = []
    line = root.start_mark.line + 1 if root is not None else None
    for i, part in enumerate(loc):
        last = i == len(loc) - 1
        if isinstance(node, yaml.MappingNode):
            child = _mapping_get(node, str(part))
            if child is None:
                if last:
                    path.append(str(part))
                continue
            key_node, value_node = child
            path.append(str(part))
            # an unknown key: point at the key itself; otherwise at the value
            line = (key_node if kind == "extra_forbidden" else value_node).start_mark.line + 1
            node = value_node
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            path.append(str(part))
            node = node.value[part]
            line = node.start_mark.line + 1
        elif last:
            path.append(str(part))
    if kind == "union_tag_invalid" and isinstance(node, yaml.MappingNode):
        tag = _mapping_get(node, "type")
        if tag is not None:
            path.append("type")
            line = tag[1].start_mark.line + 1
    return ".".join(path), line


def _mapping_get(node: yaml.MappingNode, key: str) -> tuple[yaml.Node, yaml.Node] | None:
    for key_node, value_node in node.value:
        if isinstance(key_node, yaml.ScalarNode) and key_node.value == key:
            return key_node, value_node
    return None
