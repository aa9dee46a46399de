"""Pulumi.yaml and a stack file, checked as the Pulumi CLI checks them, offline.

The CLI refuses to run a program whose project declares config it cannot use,
or whose stack file leaves a required key unset, gives a value of the wrong
type, or stores a declared secret in plain text (``mergeConfig`` and
``ValidateConfigValue`` in pulumi/pulumi, ``pkg/cmd/pulumi`` and
``sdk/go/common/workspace``). These functions apply the same rules to the
parsed YAML documents, so ``irsa check-config`` and the tests can see those
errors without a Pulumi CLI. Pure: no Pulumi, no files.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

TYPES: dict[str, type] = {"string": str, "integer": int, "boolean": bool, "array": list, "object": dict}
# Each declared type with its article, as the messages name it.
TYPE_NAMES = {"string": "a string", "integer": "an integer", "boolean": "a boolean (true or false)",
              "array": "a list", "object": "a map"}
# What the program receives in place of an encrypted value: offline, the
# plaintext cannot be known, only that it is there and stored as a secret.
ENCRYPTED_PLACEHOLDER = "[encrypted]"


def cli_rule_violations(project: Mapping[str, Any]) -> list[str]:
    """The config rules the CLI applies to Pulumi.yaml on top of its JSON schema."""
    problems = []
    for full_key, spec in (project.get("config") or {}).items():
        namespace, _, key = full_key.rpartition(":")
        if namespace and namespace != project["name"]:
            if isinstance(spec, dict) and set(spec) != {"value"}:
                problems.append(f"{full_key}: a key of another namespace may only carry a value")
            continue
        if not isinstance(spec, dict):
            continue
        type_ = spec.get("type")
        if type_ not in TYPES:
            problems.append(f"{key}: unknown type {type_!r}")
            continue
        if type_ == "array" and "items" not in spec:
            problems.append(f"{key}: an array needs items")
        if "default" in spec and not matches(spec["default"], type_, spec.get("items")):
            problems.append(f"{key}: default {shown(spec['default'])} is not {TYPE_NAMES[type_]}")
    return problems


def matches(value: Any, type_: str, items: Mapping[str, Any] | None = None) -> bool:
    """The CLI's ValidateConfigValue: it also takes integers and booleans written as strings."""
    if type_ == "integer":
        if isinstance(value, str):
            return value.lstrip("+-").isdigit()
        return (isinstance(value, int) and not isinstance(value, bool)) or (
            isinstance(value, float) and value.is_integer())
    if type_ == "boolean":
        return isinstance(value, bool) or value in ("true", "false")
    if not isinstance(value, TYPES[type_]):
        return False
    if type_ == "array":
        return items is not None and all(matches(v, items["type"], items.get("items")) for v in value)
    return True


def shown(value: Any, limit: int = 60) -> str:
    """A value as a message shows it: JSON, as written in the stack file, cut short when long."""
    text = json.dumps(value, ensure_ascii=False, default=str)
    # One message, one line: the separators str.splitlines knows besides \n, escaped.
    text = re.sub("[\x0b\x0c\x1c-\x1e\x85\u2028\u2029]", lambda m: f"\\u{ord(m[0]):04x}", text)
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _expected(spec: Mapping[str, Any]) -> str:
    items = spec.get("items")
    if spec.get("type") == "array" and isinstance(items, Mapping) and items.get("type") in TYPE_NAMES:
        return f"a list of {TYPE_NAMES[items['type']].split(' ', 1)[1].split(' (')[0]}s"
    return TYPE_NAMES.get(spec.get("type"), str(spec.get("type")))


def is_encrypted(value: Any) -> bool:
    """A stack-file value set with ``pulumi config set --secret``: ``{secure: CIPHERTEXT}``."""
    return isinstance(value, dict) and set(value) == {"secure"}


def stack_violations(project: Mapping[str, Any], stack: Mapping[str, Any]) -> list[str]:
    """The CLI's checks of a stack file against the declared keys (mergeConfig in pulumi/pulumi).

    A key without default or value must be set, whether or not it is secret;
    a declared secret must be stored encrypted; a set value must match the type.
    """
    problems = []
    config = stack.get("config") or {}
    for key, spec in (project.get("config") or {}).items():
        namespace, _, bare = key.rpartition(":")
        if (namespace and namespace != project["name"]) or not isinstance(spec, dict) \
                or "type" not in spec:
            continue  # another package's key: only its value is given here
        full = f"{project['name']}:{bare}"
        if full not in config:
            if "default" not in spec and "value" not in spec:
                problems.append(f"{full}: required, not set")
            continue
        value = config[full]
        secure = is_encrypted(value)
        if spec.get("secret") and not secure:
            problems.append(f"{full}: must be set as a secret")
            continue
        if not secure and not matches(value, spec["type"], spec.get("items")):
            problems.append(f"{full}: value {shown(value)} is not {_expected(spec)}")
    return problems


def program_config(stack: Mapping[str, Any]) -> tuple[dict[str, str], set[str]]:
    """A stack file's config as the CLI passes it to the program, and its secret keys.

    Strings stay as they are; every other value is JSON, as in ``PULUMI_CONFIG``.
    Encrypted values become ``ENCRYPTED_PLACEHOLDER``: present and secret, content unknown.
    """
    values: dict[str, str] = {}
    secret: set[str] = set()
    for key, value in (stack.get("config") or {}).items():
        if is_encrypted(value):
            values[key] = ENCRYPTED_PLACEHOLDER
            secret.add(key)
        else:
            values[key] = value if isinstance(value, str) else json.dumps(value)
    return values, secret
