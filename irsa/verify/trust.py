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
        try:
            problem = _mismatch(statement, provider_arn, context)
        except _NotUnderstood as err:
            if statement.get("Effect") == "Deny":
                # It might deny: never claim the role can be assumed past it.
                return Decision(False, (f"{label} may deny it: {err}",))
            reasons.append(f"{label}: {err}")
            continue
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


class _NotUnderstood(Exception):
    """A statement uses something this evaluator does not model; STS's answer is unknown."""


def _mismatch(statement: Mapping[str, Any], provider_arn: str, context: Mapping[str, str]) -> str | None:
    """Why the statement does not apply to this request, or None if it does.

    Raises ``_NotUnderstood`` for conditions whose outcome cannot be known here.
    Semantics follow IAM's documentation (links in tests/test_trust_semantics.py):
    context key names are case-insensitive; several values for one key are
    alternatives (for a negated operator: the value must match none of them);
    a key absent from the request makes a condition false, except for negated
    operators, where it is true; ``ForAnyValue:`` needs one request value to
    satisfy the operator (false when the key is absent), ``ForAllValues:``
    needs every one to (true when the key is absent).
    """
    actions = _as_list(statement.get("Action"))
    # Action names are case-insensitive in IAM, as context key names are.
    if not any(_like(str(action).lower(), policies.WEB_IDENTITY_ACTION.lower()) for action in actions):
        return f"its actions {actions} do not include {policies.WEB_IDENTITY_ACTION}"
    principal = statement.get("Principal")
    federated = _as_list(principal.get("Federated")) if isinstance(principal, Mapping) else []
    if principal != "*" and provider_arn not in federated:
        return f"it trusts the provider {federated or principal}, not {provider_arn}"
    by_lower_name = {key.lower(): value for key, value in context.items()}
    namespaces = {key.rsplit(":", 1)[0].lower() for key in context}
    for operator, tests in (statement.get("Condition") or {}).items():
        qualifier, _, base = operator.rpartition(":")
        known = OPERATORS.get(base)
        if known is None or qualifier not in ("", "ForAnyValue", "ForAllValues"):
            raise _NotUnderstood(f"condition operator {operator} is not one this check understands")
        compare, negated = known
        for key, patterns in tests.items():
            patterns = [str(p) for p in _as_list(patterns)]
            present = key.lower() in by_lower_name
            if not present and key.rsplit(":", 1)[0].lower() not in namespaces:
                # Not a key of this provider: STS may set it (aws:…) or not; do not guess.
                raise _NotUnderstood(f"condition key {key} is not set for this provider "
                                     f"(STS sets {', '.join(sorted(context))})")
            values = [by_lower_name[key.lower()]] if present else []

            def holds(value: str) -> bool:
                return any(compare(p, value) for p in patterns) != negated

            if qualifier == "ForAnyValue":
                satisfied = any(holds(v) for v in values)
            elif qualifier == "ForAllValues":
                satisfied = all(holds(v) for v in values)
            else:
                satisfied = holds(values[0]) if values else negated
            if not satisfied:
                if not values:
                    return f"{operator} {key}: STS does not set {key} for this token"
                quantifier = "none of " if negated else "one of " if len(patterns) > 1 else ""
                return f"{operator} {key} wants {quantifier}{_show(patterns)}, the token has {values[0]!r}"
    return None


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _show(patterns: list[Any]) -> str:
    return repr(patterns[0]) if len(patterns) == 1 else repr(patterns)
