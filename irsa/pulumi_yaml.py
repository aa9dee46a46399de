"""YAML read the way the Pulumi CLI reads Pulumi.yaml and stack files.

The CLI decodes them with gopkg.in/yaml.v3, which resolves plain scalars by
YAML 1.2's core schema with a few 1.1 leftovers, not by PyYAML's YAML 1.1
rules: only ``true``/``false`` (and their ``True``/``TRUE`` spellings) are
booleans, so ``yes``, ``no``, ``on`` and ``off`` are strings; a date such as
``2012-10-17`` stays a string; ``0o17``, ``0x1f``, ``0b101`` and the 1.1 octal
``017`` are integers, underscores in numbers are dropped; ``1:30`` is a string
(no base 60); a number too large for a float is a string.

A stack file's top-level config values reach the program as the text written
(the CLI decodes each into a string first: ``restartWorkloads: yes`` is the
string ``yes``, ``sshPort: 0x16`` the string ``0x16``, an empty value ``""``);
only lists and maps become JSON. ``load_stack`` gives them that way.
Pure: no Pulumi, no files.
"""

from __future__ import annotations

import math
import re
from typing import Any

import yaml

Error = yaml.YAMLError

_STR = "tag:yaml.org,2002:str"
_BOOL = "tag:yaml.org,2002:bool"
_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_NULL = "tag:yaml.org,2002:null"
_MERGE = "tag:yaml.org,2002:merge"

_WORDS: dict[str, tuple[str, Any]] = {
    **{w: (_BOOL, True) for w in ("true", "True", "TRUE")},
    **{w: (_BOOL, False) for w in ("false", "False", "FALSE")},
    **{w: (_NULL, None) for w in ("", "~", "null", "Null", "NULL")},
    **{w: (_FLOAT, math.nan) for w in (".nan", ".NaN", ".NAN")},
    **{w: (_FLOAT, math.inf) for w in (".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF")},
    **{w: (_FLOAT, -math.inf) for w in ("-.inf", "-.Inf", "-.INF")},
    **{w: (_FLOAT, -0.0) for w in ("-0", "-0.0")},
    "<<": (_MERGE, "<<"),
}
# yaml.v3's yamlStyleFloat: the only float spellings it hands to ParseFloat.
_FLOAT_TEXT = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?")
# Go's strconv.ParseInt(s, 0, 64) after yaml.v3 dropped every "_".
_GO_INT = re.compile(r"([-+]?)(0[xX][0-9a-fA-F]+|0[oO][0-7]+|0[bB][01]+|0[0-7]*|[1-9][0-9]*)")
_INT64 = (-(2**63), 2**63 - 1)
_UINT64_MAX = 2**64 - 1


def plain_scalar(text: str) -> tuple[str, Any]:
    """The tag and value yaml.v3 gives an unquoted scalar."""
    if text in _WORDS:
        return _WORDS[text]
    first = text[0]
    if first == ".":
        return _float(text)
    if not (first.isdigit() or first in "+-") or not first.isascii():
        return _STR, text
    plain = text.replace("_", "")
    number = _GO_INT.fullmatch(plain)
    if number:
        sign, digits = number.groups()
        value = _go_int(digits)
        value = -value if sign == "-" else value
        if _INT64[0] <= value <= _INT64[1] or (sign == "" and value <= _UINT64_MAX):
            return _INT, value
    return _float(plain)


def _go_int(digits: str) -> int:
    lower = digits.lower()
    if lower.startswith("0x"):
        return int(lower[2:], 16)
    if lower.startswith("0o"):
        return int(lower[2:], 8)
    if lower.startswith("0b"):
        return int(lower[2:], 2)
    if len(lower) > 1 and lower.startswith("0"):
        return int(lower[1:], 8)  # the YAML 1.1 octal yaml.v3 still reads
    return int(lower)


def _float(text: str) -> tuple[str, Any]:
    if _FLOAT_TEXT.fullmatch(text):
        value = float(text)
        if not math.isinf(value):  # ParseFloat's range error: yaml.v3 keeps the text
            return _FLOAT, value
    return _STR, text


class _Loader(yaml.SafeLoader):
    """PyYAML's safe loader with yaml.v3's resolution of plain scalars."""

    def resolve(self, kind: Any, value: Any, implicit: Any) -> str:
        if kind is yaml.ScalarNode and implicit[0]:
            return plain_scalar(value)[0]
        return super().resolve(kind, value, implicit)

    def construct_plain(self, node: yaml.ScalarNode) -> Any:
        tag, value = plain_scalar(node.value)
        return value if tag == node.tag else self.construct_yaml_str(node)


for _tag in (_BOOL, _INT, _FLOAT, _NULL, _MERGE):
    _Loader.add_constructor(_tag, _Loader.construct_plain)
# Explicit tags JSON cannot carry (a date, bytes, a set) are read as yaml.v3 hands
# them on as config: text, or a map.
for _tag in ("timestamp", "binary"):
    _Loader.add_constructor(f"tag:yaml.org,2002:{_tag}", _Loader.construct_yaml_str)
_Loader.add_constructor("tag:yaml.org,2002:set", _Loader.construct_yaml_map)
for _tag in ("omap", "pairs"):
    _Loader.add_constructor(f"tag:yaml.org,2002:{_tag}", _Loader.construct_yaml_seq)
# No YAML 1.1 timestamps, base-60 numbers or yes/no: only what plain_scalar resolves.
_Loader.yaml_implicit_resolvers = {}


def load(text: str) -> Any:
    """One YAML document, its scalars resolved as yaml.v3 resolves them; raises ``Error``."""
    return yaml.load(text, Loader=_Loader)  # noqa: S506 - a SafeLoader subclass


def load_stack(text: str) -> Any:
    """A stack file, its top-level config values as the CLI hands them on: scalars as text."""
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        document = loader.construct_document(node)
        if isinstance(document, dict) and isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                if key_node.value != "config" or not isinstance(value_node, yaml.MappingNode):
                    continue
                config = document.get("config")
                if not isinstance(config, dict):
                    continue
                for config_key, config_value in value_node.value:
                    if isinstance(config_value, yaml.ScalarNode):
                        key = loader.construct_object(config_key)
                        if isinstance(key, (str, int, float, bool)) and key in config:
                            config[key] = "" if config[key] is None else config_value.value
        return document
    finally:
        loader.dispose()
