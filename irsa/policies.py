"""IAM policy documents for roles that Kubernetes service accounts assume.

Pure builders: values may be plain strings or anything ``json.dumps`` (or
Pulumi's ``Output.json_dumps``) can render, so the same function serves the
program, the tests and the verifier.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

POLICY_VERSION = "2012-10-17"
WEB_IDENTITY_ACTION = "sts:AssumeRoleWithWebIdentity"
# AWS's default quota for a role's trust policy (ACLSizePerRole), counted
# without white space.
TRUST_POLICY_LIMIT = 2048
# The longest ARN prefix an OIDC provider can have (GovCloud partition), used
# to size a trust policy before the provider exists.
_LONGEST_PROVIDER_ARN_PREFIX = "arn:aws-us-gov:iam::000000000000:oidc-provider/"


class PolicyTooLargeError(ValueError):
    """A trust policy over AWS's default size limit."""


def subject(namespace: str, name: str) -> str:
    """The ``sub`` claim of a token for a service account."""
    return f"system:serviceaccount:{namespace}:{name}"


def has_wildcard(namespace: str, name: str) -> bool:
    """True when the service account is a pattern rather than one account."""
    return "*" in namespace or "*" in name


def trust_policy(
    provider_arn: Any, condition_prefix: str, namespace: str, name: str, audience: str,
    shared_with: Sequence[tuple[str, str]] = (),
) -> dict[str, Any]:
    """Who may assume the role: tokens of one service account, for one audience.

    ``StringEquals`` unless the namespace or name is a pattern (``*``): then
    ``StringLike``, which the settings allow only when asked explicitly.
    ``shared_with``: further (namespace, name) accounts on the same role; ``sub``
    then lists every subject, any one of which matches (IAM's rule for a
    condition key with several values).
    """
    test = "StringLike" if has_wildcard(namespace, name) else "StringEquals"
    subjects = [subject(namespace, name), *(subject(n, a) for n, a in shared_with)]
    return {
        "Version": POLICY_VERSION,
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Federated": provider_arn},
                "Action": WEB_IDENTITY_ACTION,
                "Condition": {
                    test: {
                        f"{condition_prefix}:sub": subjects[0] if len(subjects) == 1 else subjects,
                        f"{condition_prefix}:aud": audience,
                    }
                },
            }
        ],
    }


def trust_policy_for_issuers(
    providers: Sequence[tuple[Any, str]], namespace: str, name: str, audience: str,
    shared_with: Sequence[tuple[str, str]] = (),
) -> dict[str, Any]:
    """``trust_policy`` with one statement per (provider ARN, condition prefix).

    While the issuer moves to another host, tokens of the old and the new
    issuer are both in use; each needs a statement naming its own provider.
    """
    statements = [
        statement
        for arn, prefix in providers
        for statement in trust_policy(arn, prefix, namespace, name, audience, shared_with)["Statement"]
    ]
    return {"Version": POLICY_VERSION, "Statement": statements}


def compact_json(document: Any) -> str:
    """The rendering IAM stores and measures: no white space between tokens."""
    return json.dumps(document, separators=(",", ":"))


def check_trust_policy_size(
    condition_prefix: str, namespace: str, name: str, audience: str,
    other_prefixes: Sequence[str] = (), shared_with: Sequence[tuple[str, str]] = (),
) -> int:
    """Return the trust policy's size; raise when it exceeds AWS's default limit.

    Sized with the longest possible provider ARN, so the check can run at
    preview, before the provider (and its ARN) exists. ``other_prefixes``:
    previous issuers the role still trusts (one statement each).
    """
    document = trust_policy_for_issuers(
        [(_LONGEST_PROVIDER_ARN_PREFIX + p, p) for p in (condition_prefix, *other_prefixes)],
        namespace, name, audience, shared_with,
    )
    size = len(compact_json(document))
    if size > TRUST_POLICY_LIMIT:
        raise PolicyTooLargeError(
            f"the trust policy for service account {namespace}/{name} would be {size} "
            f"characters; AWS allows {TRUST_POLICY_LIMIT} by default. Shorten the issuer URL, "
            "the namespace or the name"
            + (f", share the role with fewer than {len(shared_with)} other service accounts"
               if shared_with else "")
            + ", or ask AWS to raise the role trust policy quota."
        )
    return size


def s3_prefix_policy(bucket_prefix: str, partition: str = "aws") -> dict[str, Any]:
    """Full access to buckets named ``PREFIX-*`` and listing of all buckets (the seed's policy);
    the bucket ARNs in ``partition`` (aws, aws-cn, aws-us-gov)."""
    return {
        "Version": POLICY_VERSION,
        "Statement": [
            {
                "Sid": "FullAccessTo" + re.sub(r"[^A-Za-z0-9]", "", bucket_prefix) + "Buckets",
                "Effect": "Allow",
                "Action": ["s3:*"],
                "Resource": [
                    f"arn:{partition}:s3:::{bucket_prefix}-*",
                    f"arn:{partition}:s3:::{bucket_prefix}-*/*",
                ],
            },
            {
                "Sid": "ListBucketsForConsoleAccess",
                "Effect": "Allow",
                "Action": ["s3:ListAllMyBuckets", "s3:GetBucketLocation"],
                "Resource": "*",
            },
        ],
    }


# A Secrets Manager secret's ARN ends in "-" and six random characters the service
# adds to the name; a policy naming the bare name matches no secret.
_SECRET_ARN = re.compile(r"arn:aws(?:-[a-z]+)*:secretsmanager:[^:]*:[^:]*:secret:(.+)", re.ASCII)
_SECRET_SUFFIX = re.compile(r".*(?:-[A-Za-z0-9]{6}|-\?{6}|\*)")
EFFECTS = ("Allow", "Deny")


def secret_arn_problem(arn: str) -> str | None:
    """Why a Secrets Manager ARN in a policy matches no secret, or None."""
    found = _SECRET_ARN.fullmatch(arn)
    if not found or _SECRET_SUFFIX.fullmatch(found.group(1)):
        return None
    return (f"{arn} names no secret: Secrets Manager ends each secret's ARN with '-' and six "
            f"random characters, so this gets AccessDenied; write {arn}-?????? (or {arn}-*)")


def document_problems(document: Any) -> list[str]:
    """What IAM (or the first call under the role) would refuse in a policy document.

    Each problem says where: ``Statement[0].Effect must be …``.
    """
    if not isinstance(document, dict):
        return ["must be an IAM policy document (a map with a Statement)"]
    statements = document.get("Statement")
    if isinstance(statements, dict):
        statements = [statements]
    if not isinstance(statements, list) or not statements:
        return ["must be an IAM policy document with a Statement"]
    problems = []
    version = document.get("Version")
    if version is not None and version not in (POLICY_VERSION, "2008-10-17"):
        # Pulumi's YAML reads an unquoted date as a time and hands it on as Go prints one.
        unquoted = isinstance(version, str) and version.startswith(f"{POLICY_VERSION} 00:00:00")
        problems.append(f"Version must be {POLICY_VERSION}, got {json.dumps(version, default=str)}"
                        + (f": quote it, Version: '{POLICY_VERSION}' (unquoted, YAML reads a "
                           "date)" if unquoted else ""))
    for index, statement in enumerate(statements):
        where = f"Statement[{index}]"
        if not isinstance(statement, dict):
            problems.append(f"{where} must be a map with Effect, Action and Resource")
            continue
        effect = statement.get("Effect")
        if effect not in EFFECTS:
            fix = (f": write {effect.capitalize()}" if isinstance(effect, str)
                   and effect.capitalize() in EFFECTS else "")
            problems.append(f"{where}.Effect must be Allow or Deny (IAM is case-sensitive), "
                            f"got {json.dumps(effect)}{fix}")
        resources = statement.get("Resource", [])
        for resource in resources if isinstance(resources, list) else [resources]:
            problem = secret_arn_problem(resource) if isinstance(resource, str) else None
            if problem:
                problems.append(f"{where}.Resource {problem}")
    return problems


def inline_size(documents: Sequence[Any]) -> int:
    """The size IAM counts for a role's inline policies together: characters, no white space."""
    return sum(len(re.sub(r"\s", "", json.dumps(d, ensure_ascii=False))) for d in documents)


# IAM quotas per role: inline policies together (not adjustable) and attached
# managed policies (default 10, adjustable up to 20).
INLINE_POLICIES_LIMIT = 10240
MANAGED_POLICIES_DEFAULT = 10
MANAGED_POLICIES_MAX = 20
