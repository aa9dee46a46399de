"""Hold request parameters to the rules in botocore's service models.

boto3 checks types and required members before it sends a call; the models also
carry lengths, enumerations and patterns that only AWS enforces. ``problems``
walks an operation's input shape and reports every value that breaks one of
them, so a test can see what IAM or S3 would refuse without calling AWS.
"""

from __future__ import annotations

import re
from typing import Any

import botocore.session

_SESSION = botocore.session.get_session()


def problems(service: str, operation: str, params: dict[str, Any]) -> list[str]:
    """Every rule of ``service``'s ``operation`` input that ``params`` breaks (empty: none)."""
    model = _SESSION.get_service_model(service).operation_model(operation).input_shape
    found: list[str] = []
    _check(model, params, operation, found)
    return found


def _check(shape: Any, value: Any, where: str, found: list[str]) -> None:
    meta = shape.metadata
    if shape.type_name == "structure":
        for name in shape.required_members:
            if name not in value:
                found.append(f"{where}.{name} is required")
        for name, member in value.items():
            if name not in shape.members:
                found.append(f"{where}.{name} is not a member of {shape.name}")
                continue
            _check(shape.members[name], member, f"{where}.{name}", found)
    elif shape.type_name == "list":
        _length(meta, len(value), where, found)
        for index, item in enumerate(value):
            _check(shape.member, item, f"{where}[{index}]", found)
    elif shape.type_name == "map":
        for key, item in value.items():
            _check(shape.key, key, f"{where} key {key!r}", found)
            _check(shape.value, item, f"{where}[{key!r}]", found)
    elif shape.type_name == "string":
        _length(meta, len(value), where, found)
        if shape.enum and value not in shape.enum:
            found.append(f"{where} {value!r} is not one of {shape.enum}")
        pattern = meta.get("pattern")
        if pattern is not None:
            try:
                compiled = re.compile(pattern)
            except re.error:  # \p{…} classes: Python's re lacks them; not used by our shapes
                return
            if not compiled.fullmatch(value):
                found.append(f"{where} {value[:60]!r} does not match {pattern}")


def _length(meta: dict[str, Any], length: int, where: str, found: list[str]) -> None:
    if "min" in meta and length < meta["min"]:
        found.append(f"{where} is shorter than {meta['min']}")
    if "max" in meta and length > meta["max"]:
        found.append(f"{where} is longer than {meta['max']}")
