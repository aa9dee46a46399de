"""Does a role's trust policy let this web-identity token in? Evaluated as STS would.

Covers what IRSA trust policies use: ``Allow``/``Deny`` statements for
``sts:AssumeRoleWithWebIdentity`` with a ``Federated`` principal, and the
string condition operators on the provider's ``:sub``/``:aud`` keys. Anything
else is reported as not understood rather than guessed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from irsa import policies


def _like(pattern: str, value: str) -> bool:
    # IAM wildcards: * any run of characters, ? one character; case-sensitive.
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, re.DOTALL) is not None


# operator → (test one value against one pattern, negated)
OPERATORS: dict[str, tuple[Callable[[str, str], bool], bool]] = {
    "StringEquals": (lambda pattern, value: pattern == value, False),
    "StringLike": (_like, False),
    "StringEqualsIgnoreCase": (lambda pattern, value: pattern.casefold() == value.casefold(), False),
    "StringNotEquals": (lambda pattern, value: pattern == value, True),
    "StringNotLike": (_like, True),
}


@dataclass(frozen=True)
class Decision:
    """Whether the role may be assumed, and why (one reason per statement that decided or failed)."""

    allowed: bool
    reasons: tuple[str, ...]
    matched: str = ""


def parse_document(document: str | Mapping[str, Any]) -> dict[str, Any]:
    """A policy document as IAM returns it: URL-encoded JSON text (or already parsed by boto3)."""
    if isinstance(document, Mapping):
        return dict(document)
    text = document if document.lstrip().startswith("{") else unquote(document)
    return json.loads(text)


def condition_context(issuer_url: str, claims: Mapping[str, Any], audience: str) -> dict[str, str]:
    """The condition keys STS sets for a token from this issuer.

    Keys are the issuer URL without its scheme plus ``:sub``/``:aud``. For a
    token with several audiences, ``:aud`` is the one the provider accepts.
    """
    prefix = issuer_url.split("://", 1)[-1]
    audiences = claims.get("aud")
    audiences = [audiences] if isinstance(audiences, str) else list(audiences or [])
    aud = audience if audience in audiences else (audiences[0] if audiences else "")
    return {f"{prefix}:sub": str(claims.get("sub", "")), f"{prefix}:aud": aud}


def evaluate(document: Mapping[str, Any], provider_arn: str, context: Mapping[str, str]) -> Decision:
    """Whether ``document`` lets a token with this context in through ``provider_arn``.

    An explicit Deny wins over any Allow; without a matching Allow the answer is no.
    """
    statements = document.get("Statement", [])
    if isinstance(statements, Mapping):
        statements = [statements]
    allowed_by = ""
    reasons: list[str] = []
    for number, statement in enumerate(statements, start=1):
        label = f"statement {statement.get('Sid') or number}"
        problem = _mismatch(statement, provider_arn, context)
        if statement.get("Effect") == "Deny":
            if problem is None:
                return Decision(False, (f"{label} denies it explicitly",))
            continue
        if problem is None:
            allowed_by = allowed_by or label
        else:
            reasons.append(f"{label}: {problem}")
    if allowed_by:
        return Decision(True, (), allowed_by)
    if not reasons:
        reasons.append("no statement allows sts:AssumeRoleWithWebIdentity")
    return Decision(False, tuple(reasons))


def _mismatch(statement: Mapping[str, Any], provider_arn: str, context: Mapping[str, str]) -> str | None:
    """Why the statement does not apply to this request, or None if it does."""
    actions = _as_list(statement.get("Action"))
    if not any(_like(action, policies.WEB_IDENTITY_ACTION) for action in actions):
        return f"its actions {actions} do not include {policies.WEB_IDENTITY_ACTION}"
    principal = statement.get("Principal")
    federated = _as_list(principal.get("Federated")) if isinstance(principal, Mapping) else []
    if principal != "*" and provider_arn not in federated:
        return f"it trusts the provider {federated or principal}, not {provider_arn}"
    for operator, tests in (statement.get("Condition") or {}).items():
        known = OPERATORS.get(operator)
        if known is None:
            return f"condition operator {operator} is not one this check understands"
        compare, negated = known
        for key, patterns in tests.items():
            patterns = _as_list(patterns)
            if key not in context:
                return (f"condition key {key} is not set for this provider "
                        f"(STS sets {', '.join(sorted(context))})")
            value = context[key]
            if any(compare(p, value) for p in patterns) == negated:
                quantifier = "none of " if negated else "one of " if len(patterns) > 1 else ""
                return f"{operator} {key} wants {quantifier}{_show(patterns)}, the token has {value!r}"
    return None


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _show(patterns: list[Any]) -> str:
    return repr(patterns[0]) if len(patterns) == 1 else repr(patterns)
