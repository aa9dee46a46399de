"""The IAM role a service account's entry shapes: its name (roleName, irsa:roleNamePrefix),
its permissions against IAM's per-role quotas, and IAM's input rules for
permissionsBoundary, path, maxSessionDuration and description."""

from __future__ import annotations

import re
from typing import Any

from irsa import policies, presets, s3
from irsa.settings.problems import _Problems

# IAM's own limit (botocore's model of IAM: roleMaxSessionDurationType).
MAX_SESSION_DURATION = (3600, 43200)
_ROLE_NAME = re.compile(r"^[\w+=,.@-]{1,64}$", re.ASCII)
_BUCKET_PREFIX = re.compile(r"^[a-z0-9][a-z0-9.-]{1,59}$")
_POLICY_ARN = re.compile(r"^arn:aws(?:-[a-z]+)*:iam::(?:\d{12}|aws):policy/[\w+=,.@/-]+$", re.ASCII)

# IAM's patterns for role paths and descriptions (botocore: pathType, roleDescriptionType).
_ROLE_PATH = re.compile(r"/|/[\x21-\x7e]+/")
_ROLE_DESCRIPTION = re.compile(r"[\t\n\r\x20-\x7e\xa1-\xff]*")

# Role-name characters (roleNameType), leaving room for _NAMESPACE_NAME.
_ROLE_NAME_PREFIX = re.compile(r"^[\w+=,.@-]{1,32}$", re.ASCII)

# Fields that shape a role this stack makes; a given roleArn excludes them all.
ROLE_FIELDS = ("roleName", "s3BucketPrefix", "policyArns", "policy", "preset", "permissionsBoundary",
               "path", "maxSessionDuration", "description", "account", "allowWildcard")
CLUSTER_ONLY_HINT = ("give the ARN of a role an account stack made (examples/account, "
                     "docs/accounts.md)")


def _role_quotas(where: str, account: str, prefix: str | None, policy: Any,
                 preset: presets.Preset | None, arns: list[str], p: _Problems) -> bool:
    """IAM's per-role quotas: inline policies together (sized in the longest partition
    name, aws-us-gov, so a stack that moves region still fits), and attached managed policies."""
    documents = [d for d in (policies.s3_prefix_policy(prefix, "aws-us-gov") if prefix else None, policy,
                             preset.policy("aws-us-gov") if preset else None) if d]
    size = policies.inline_size(documents)
    ok = p.check(size <= policies.INLINE_POLICIES_LIMIT,
                 f"{where} ({account}): the role's inline policies (s3BucketPrefix, policy, preset) "
                 f"come to {size} characters without white space; IAM allows "
                 f"{policies.INLINE_POLICIES_LIMIT} per role: move statements into a managed "
                 "policy and list its ARN in policyArns")
    count = len(set(arns))
    ok &= p.check(count <= policies.MANAGED_POLICIES_MAX,
                  f"{where} ({account}): policyArns attaches {count} managed policies; IAM allows "
                  f"at most {policies.MANAGED_POLICIES_MAX} per role: combine some")
    return ok


def _prefix_hint(prefix: Any) -> str:
    """For an ARN or URL given as s3BucketPrefix: the prefix it meant."""
    if not isinstance(prefix, str) or not s3.bucket_name_hint(prefix):
        return ""
    meant = re.sub(r"^(?:arn:aws(?:-[a-z]+)*:s3:::|s3://)", "", prefix).split("/")[0].rstrip("*-")
    return f": that is a bucket's ARN or URL; give the start of the bucket names, e.g. {meant!r}"


def _role_options(where: str, entry: dict[str, Any], p: _Problems) -> bool:
    """permissionsBoundary, path, maxSessionDuration, description: IAM's input rules."""
    ok = True
    boundary = entry.get("permissionsBoundary")
    if boundary is not None:
        ok &= p.check(bool(_POLICY_ARN.fullmatch(boundary)) and len(boundary) <= 2048,
                      f"{where}.permissionsBoundary must be an IAM managed policy ARN, e.g. "
                      f"arn:aws:iam::111122223333:policy/Boundary, got {boundary!r}")
    path = entry.get("path")
    if path is not None:
        ok &= p.check(len(path) <= 512 and bool(_ROLE_PATH.fullmatch(path)),
                      f"{where}.path must be / or start and end with / (printable ASCII, no "
                      f"spaces, at most 512), e.g. /k8s/, got {path!r}")
    duration = entry.get("maxSessionDuration")
    if duration is not None:
        low, high = MAX_SESSION_DURATION
        ok &= p.check(low <= duration <= high,
                      f"{where}.maxSessionDuration must be between {low} and {high} seconds, "
                      f"got {duration}")
    description = entry.get("description")
    if description is not None:
        ok &= p.check(len(description) <= 1000 and bool(_ROLE_DESCRIPTION.fullmatch(description)),
                      f"{where}.description must be at most 1000 characters of printable "
                      f"Latin-1, got {description!r}")
    return ok


def _role_name_prefix(prefix: str | None, p: _Problems) -> str:
    """irsa:roleNamePrefix: "" (derived per stack) or role-name characters, at most 32."""
    if prefix:
        p.check(bool(_ROLE_NAME_PREFIX.fullmatch(prefix)),
                f"irsa:roleNamePrefix must be at most 32 letters, digits or '+=,.@_-' (k8s keeps the names "
                f"earlier versions gave), got {prefix!r}")
    return prefix or ""
