"""A small, independent reading of an S3 bucket policy for one request.

moto evaluates a bucket policy for anonymous GETs, but it does not check a
``{"Service": ...}`` principal or conditions the request lacks context for, so
a CloudFront-only policy would look public to it. This follows the IAM policy
evaluation rules for the part we need (AWS IAM user guide, "Policy evaluation
logic", "Principal", "Condition" and "Resource" element pages):

- an explicit Deny wins, then any Allow, else the request is denied;
- a statement applies to a caller only if its Principal names it: anonymous
  callers only match ``"*"`` or ``{"AWS": "*"}``;
- ``*`` in Action and Resource matches any run of characters (``/`` too),
  ``?`` exactly one;
- a condition on a key the request does not carry does not match
  (``StringEquals`` and friends), so the statement does not apply.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

ANONYMOUS = "anonymous"


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _glob(pattern: str, value: str, case_sensitive: bool = True) -> bool:
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, 0 if case_sensitive else re.IGNORECASE) is not None


def _principal_matches(principal: Any, caller: str, service: str | None) -> bool:
    if principal == "*":
        return True
    if not isinstance(principal, Mapping):
        return False
    if caller == ANONYMOUS:
        return "*" in _as_list(principal.get("AWS", []))
    if service is not None:
        return service in _as_list(principal.get("Service", []))
    return False


def _conditions_hold(conditions: Mapping[str, Any], context: Mapping[str, str]) -> bool:
    for operator, tests in conditions.items():
        if operator not in ("StringEquals", "ArnEquals", "ArnLike", "StringLike"):
            raise NotImplementedError(f"condition operator {operator}")
        for key, wanted in tests.items():
            # Condition keys are case-insensitive (IAM user guide, "Condition element").
            found = next((v for k, v in context.items() if k.lower() == key.lower()), None)
            if found is None:
                return False
            like = operator in ("StringLike", "ArnLike")
            if not any(_glob(w, found) if like else w == found for w in _as_list(wanted)):
                return False
    return True


def allows(policy: Mapping[str, Any], action: str, resource: str, *, caller: str = ANONYMOUS,
           service: str | None = None, context: Mapping[str, str] | None = None) -> bool:
    """Whether ``policy`` lets ``caller`` (or the AWS ``service``) perform ``action`` on ``resource``."""
    allowed = False
    for statement in _as_list(policy["Statement"]):
        if not _principal_matches(statement.get("Principal"), caller, service):
            continue
        if not any(_glob(a, action, case_sensitive=False) for a in _as_list(statement["Action"])):
            continue
        if not any(_glob(r, resource) for r in _as_list(statement["Resource"])):
            continue
        if not _conditions_hold(statement.get("Condition", {}), context or {}):
            continue
        if statement["Effect"] == "Deny":
            return False
        allowed = True
    return allowed
