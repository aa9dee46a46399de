"""YAML read the way the Pulumi CLI reads Pulumi.yaml and stack files.

The CLI decodes them with gopkg.in/yaml.v3 v3.0.1, which resolves plain
scalars by YAML 1.2's core schema with a few 1.1 leftovers, not by PyYAML's
YAML 1.1 rules: only ``true``/``false`` (and their ``True``/``TRUE``
spellings) are booleans, so ``yes``, ``no``, ``on`` and ``off`` are strings;
``0o17``, ``0x1f``, ``0b101`` and the 1.1 octal ``017`` are integers,
underscores in numbers are dropped; ``1:30`` is a string (no base 60); a
number too large for a float is a string. An unquoted date or time is a
timestamp, which the CLI hands on as Go prints a time: ``2012-10-17`` becomes
``2012-10-17 00:00:00 +0000 UTC`` (pulumi/pulumi ``config.object``).

A stack file's config values reach the program as the CLI's ``MarshalString``
makes them (``load_stack``): a string as written, a boolean or a number as
JSON text (``sshPort: 0x16`` is ``"22"``), a list or a map as JSON; a value
left empty is ``null``. Pure: no Pulumi, no files.
"""

from __future__ import annotations

import datetime
import json
import math
import re
from decimal import Decimal
from typing import Any

import yaml

Error = yaml.YAMLError

_STR = "tag:yaml.org,2002:str"
_BOOL = "tag:yaml.org,2002:bool"
_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_NULL = "tag:yaml.org,2002:null"
_MERGE = "tag:yaml.org,2002:merge"
_TIMESTAMP = "tag:yaml.org,2002:timestamp"

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
    """The tag and value yaml.v3 gives an unquoted scalar (a timestamp as Go prints it)."""
    if text in _WORDS:
        return _WORDS[text]
    first = text[0]
    if first == ".":
        return _float(text)
    if not (first.isdigit() or first in "+-") or not first.isascii():
        return _STR, text
    moment = _go_time(text)
    if moment is not None:
        return _TIMESTAMP, moment
    plain = text.replace("_", "")
    number = _GO_INT.fullmatch(plain)
    if number:
        sign, digits = number.groups()
        value = _go_int(digits)
        value = -value if sign == "-" else value
        if _INT64[0] <= value <= _INT64[1] or (sign == "" and value <= _UINT64_MAX):
            return _INT, value
    return _float(plain)


# yaml.v3's parseTimestamp layouts: 2006-1-2T15:4:5.999999999Z07:00 (T or t),
# 2006-1-2 15:4:5.999999999 (UTC) and 2006-1-2.
_TIME_TEXT = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})(?:[Tt](\d{1,2}):(\d{1,2}):(\d{1,2})(\.\d+)?"
                        r"(Z|[+-]\d{2}:\d{2})| (\d{1,2}):(\d{1,2}):(\d{1,2})(\.\d+)?)?")


def _go_time(text: str) -> str | None:
    """A yaml.v3 timestamp as Go's ``time.Time.String`` prints it, or None if not one."""
    found = _TIME_TEXT.fullmatch(text)
    if not found:
        return None
    year, month, day, hour, minute, second, fraction, zone, *spaced = found.groups()
    if spaced[0] is not None:
        hour, minute, second, fraction = spaced
    try:
        moment = datetime.datetime(int(year), int(month), int(day), int(hour or 0),
                                   int(minute or 0), int(second or 0))
    except ValueError:
        return None  # Go's Parse refuses it too: then it is a string
    digits = (fraction or ".")[1:10].rstrip("0")
    offset = "+0000 UTC" if zone in (None, "Z", "+00:00", "-00:00") else (
        f"{zone.replace(':', '')} {zone.replace(':', '')}")
    return f"{moment:%Y-%m-%d %H:%M:%S}{'.' + digits if digits else ''} {offset}"


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


for _tag in (_BOOL, _INT, _FLOAT, _NULL, _MERGE, _TIMESTAMP):
    _Loader.add_constructor(_tag, _Loader.construct_plain)
# Explicit tags JSON cannot carry (bytes, a set) are read as yaml.v3 hands them
# on as config: text, or a map.
_Loader.add_constructor("tag:yaml.org,2002:binary", lambda loader, node: loader.construct_yaml_binary(
    node).decode("utf-8", "replace"))
_Loader.add_constructor("tag:yaml.org,2002:set", _Loader.construct_yaml_map)
for _tag in ("omap", "pairs"):
    _Loader.add_constructor(f"tag:yaml.org,2002:{_tag}", _Loader.construct_yaml_seq)
# No YAML 1.1 timestamps, base-60 numbers or yes/no: only what plain_scalar resolves.
_Loader.yaml_implicit_resolvers = {}


def load(text: str) -> Any:
    """One YAML document, its scalars resolved as yaml.v3 resolves them; raises ``Error``."""
    return yaml.load(text, Loader=_Loader)  # noqa: S506 - a SafeLoader subclass


def load_stack(text: str) -> Any:
    """A stack file, its config values as the CLI hands them on (``MarshalString``).

    Raises ``Error`` for what the CLI cannot turn into JSON (NaN, infinity).
    """
    document = load(text)
    config = document.get("config") if isinstance(document, dict) else None
    if isinstance(config, dict):
        for key, value in config.items():
            _check_json(key, value)
            if isinstance(value, (bool, int, float)):
                config[key] = go_json(value)
    return document


def go_json(value: bool | int | float) -> str:
    """A boolean or number as Go's encoding/json writes it (1e20 in full, 1e21 with an exponent)."""
    if isinstance(value, bool) or not isinstance(value, float):
        return json.dumps(value)
    if value == 0 or 1e-6 <= abs(value) < 1e21:
        return f"{Decimal(repr(value)):f}".removesuffix(".0")
    return repr(value).replace("e+0", "e+").replace("e-0", "e-")


def _check_json(key: Any, value: Any) -> None:
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        raise yaml.YAMLError(f"config value {key} holds {value}, which JSON cannot carry")
    for item in value.values() if isinstance(value, dict) else value if isinstance(value, list) else ():
        _check_json(key, item)
