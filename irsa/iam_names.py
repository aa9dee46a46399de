"""What the program names things in IAM, within IAM's own input rules.

Pure, no Pulumi. IAM's API model (botocore ``iam/2010-05-08/service-2.json``)
allows role names of ``[\\w+=,.@-]`` (ASCII, 1–64), tag values of
``[\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]`` (≤ 256) and descriptions of printable
Latin-1 (≤ 1000). Kubernetes names never contain ``_`` or ``+``, so the
defaults below are distinct for distinct service accounts.
"""

from __future__ import annotations

import hashlib
import re

from irsa import policies

ROLE_NAME_MAX = 64
# The manual procedure's prefix, which earlier versions used for every stack.
LEGACY_PREFIX = "k8s"
# Hex digits of SHA-256 that tell stacks apart in a prefix, and a shortened name from the whole.
_STACK_DIGEST = 6
_NAME_DIGEST = 8
NAMESPACE_TAG = "irsa/namespace"
SERVICE_ACCOUNT_TAG = "irsa/service-account"
WILDCARD = "*"
# '*' is no role-name character; '+' is, and no Kubernetes name holds it.
_ROLE_NAME_WILDCARD = "+"


def stack_prefix(project: str, stack: str) -> str:
    """The default role-name prefix of one stack: ``PROJECT-STACK-HASH``.

    Two stacks (dev and prod clusters) in one account then never name a role
    alike. The hash is of ``PROJECT/STACK``, so ``a-b``/``c`` and ``a``/``b-c``
    differ too. Pulumi's project and stack names use only ``[A-Za-z0-9_.-]``,
    which IAM allows in role names.
    """
    digest = hashlib.sha256(f"{project}/{stack}".encode()).hexdigest()[:_STACK_DIGEST]
    return f"{project}-{stack}-{digest}"


def default_role_name(namespace: str, name: str, prefix: str = LEGACY_PREFIX) -> str:
    """``PREFIX_NAMESPACE_NAME``, ``*`` written ``+``, within IAM's 64 characters.

    A longer name is cut and ends in ``-`` and a hash of the whole, so distinct
    service accounts keep distinct names. With the legacy prefix ``k8s`` and a
    short name this is the manual procedure's ``k8s_NAMESPACE_NAME``.
    """
    full = f"{prefix}_{namespace}_{name}".replace(WILDCARD, _ROLE_NAME_WILDCARD)
    if len(full) <= ROLE_NAME_MAX:
        return full
    digest = hashlib.sha256(full.encode()).hexdigest()[:_NAME_DIGEST]
    return f"{full[:ROLE_NAME_MAX - _NAME_DIGEST - 1]}-{digest}"


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


def role_description(namespace: str, name: str, shared: int = 0) -> str:
    """The role's description: which service account (or pattern) may assume it, and how many share it."""
    if policies.has_wildcard(namespace, name):
        return f"Assumed by Kubernetes service accounts matching {namespace}/{name} (IRSA)"
    if shared:
        return f"Assumed by Kubernetes service account {namespace}/{name} and {shared} more (IRSA)"
    return f"Assumed by Kubernetes service account {namespace}/{name} (IRSA)"


def role_name_in_arn(arn: str) -> str | None:
    """The role name an IAM role ARN ends in (``arn:PARTITION:iam::ACCOUNT:role/PATH/NAME``), or None."""
    parts = arn.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn" or parts[2] != "iam" or not parts[5].startswith("role/"):
        return None
    return parts[5].rsplit("/", 1)[-1] or None


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
    keeps ``irsa-`` and its end (the stack) within STS's 64.
    """
    prefix = "irsa-"
    text = "".join(c if _SESSION_NAME_CHARACTER.fullmatch(c) else "-" for c in f"{project}-{stack}")
    return prefix + text[-(SESSION_NAME_MAX - len(prefix)):]
