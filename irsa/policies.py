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
