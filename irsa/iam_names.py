"""What the program names things in IAM, within IAM's own input rules.

Pure, no Pulumi. IAM's API model (botocore ``iam/2010-05-08/service-2.json``)
allows role names of ``[\\w+=,.@-]`` (ASCII, 1–64), tag values of
``[\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]`` (≤ 256) and descriptions of printable
Latin-1 (≤ 1000). Kubernetes names never contain ``_`` or ``+``, so the
defaults below are distinct for distinct service accounts.
"""

from __future__ import annotations

import re

from irsa import policies

ROLE_NAME_MAX = 64
NAMESPACE_TAG = "irsa/namespace"
SERVICE_ACCOUNT_TAG = "irsa/service-account"
WILDCARD = "*"
# '*' is no role-name character; '+' is, and no Kubernetes name holds it.
_ROLE_NAME_WILDCARD = "+"


def default_role_name(namespace: str, name: str) -> str:
    """``k8s_NAMESPACE_NAME`` as the manual procedure names it, ``*`` written ``+``.

    May exceed IAM's 64 characters: settings then ask for an explicit roleName.
    """
    return f"k8s_{namespace}_{name}".replace(WILDCARD, _ROLE_NAME_WILDCARD)


def role_tags(namespace: str, name: str) -> dict[str, str]:
    """Tags that find a role by its service account.

    Namespace and name go in separate tags (a namespace is ≤ 63 characters, a
    name ≤ 253, both within a tag value's 256); a part that is a pattern is
    left out, since IAM refuses ``*`` in tag values: the description names it.
    """
    tags = {}
    if WILDCARD not in namespace:
        tags[NAMESPACE_TAG] = namespace
    if WILDCARD not in name:
        tags[SERVICE_ACCOUNT_TAG] = name
    return tags


def role_description(namespace: str, name: str) -> str:
    """The role's description: which service account (or pattern) may assume it."""
    if policies.has_wildcard(namespace, name):
        return f"Assumed by Kubernetes service accounts matching {namespace}/{name} (IRSA)"
    return f"Assumed by Kubernetes service account {namespace}/{name} (IRSA)"


def policy_arn_key(arn: str) -> str:
    """A name for a policy attachment, distinct for every policy ARN and free of ``::``.

    ``arn:aws:iam::aws:policy/ReadOnlyAccess`` → ``aws:iam:aws:policy/ReadOnlyAccess``:
    the AWS-managed and a customer-managed policy of the same name stay apart.
    """
    return arn.removeprefix("arn:").replace("::", ":", 1)


# STS AssumeRole's roleSessionNameType (botocore): 2 to 64 of these.
SESSION_NAME_MAX = 64
_SESSION_NAME_CHARACTER = re.compile(r"[\w+=,.@-]", re.ASCII)


def assume_role_session_name(project: str, stack: str) -> str:
    """The session name an account's provider assumes its role with: ``irsa-PROJECT-STACK``.

    CloudTrail shows it beside every call the stack makes in that account, so
    it names the stack; characters STS refuses become ``-``, and a long name
    keeps its end (the stack) within STS's 64.
    """
    text = "".join(c if _SESSION_NAME_CHARACTER.fullmatch(c) else "-" for c in f"irsa-{project}-{stack}")
    return text if len(text) <= SESSION_NAME_MAX else text[-SESSION_NAME_MAX:]
