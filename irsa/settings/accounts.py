"""The AWS accounts that hold an OIDC provider and roles (irsa:awsAccounts), and the
one that holds an S3 or CloudFront issuer (irsa:issuerAccount). See docs/accounts.md."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from irsa import s3
from irsa.settings.issuer import IssuerSettings
from irsa.settings.keys import KEYS
from irsa.settings.names import _KEY_NAME
from irsa.settings.problems import _duplicates, _Problems

AWS_ACCOUNT_FIELDS = ("name", "assumeRoleArn", "externalId", "region")
_ROLE_ARN = re.compile(r"^arn:aws(?:-[a-z]+)*:iam::(\d{12}):role/(?:[\x21-\x7e]*/)?[\w+=,.@-]{1,64}$",
                       re.ASCII)

# STS AssumeRole's externalIdType (botocore): 2 to 1224 of these.
_EXTERNAL_ID = re.compile(r"^[\w+=,.@:/-]{2,1224}$", re.ASCII)


@dataclass(frozen=True)
class AwsAccount:
    """An AWS account that holds an OIDC provider and roles (irsa:awsAccounts).

    Without ``assume_role_arn`` it is the account the stack's own AWS
    configuration reaches (the default provider): its resources keep the
    names earlier versions gave them, so an existing stack replaces nothing.
    Another account is reached by an explicit provider that assumes the role;
    its resources' names start with ``NAME/``, so a role that moves between
    accounts is made anew there (never "updated" in the wrong account).
    """

    name: str
    assume_role_arn: str | None = None
    external_id: str | None = None
    region: str | None = None

    @property
    def is_stack_account(self) -> bool:
        return self.assume_role_arn is None

    def resource_name(self, name: str) -> str:
        """The name of a resource of this account whose stack-account name is ``name``."""
        return name if self.is_stack_account else f"{self.name}/{name}"


def _aws_accounts(v: dict[str, Any], issuer: IssuerSettings, region: str | None,
                  p: _Problems) -> tuple[tuple[AwsAccount, ...], str]:
    """irsa:awsAccounts and irsa:issuerAccount; returns the accounts and the issuer's account."""
    entries = v["awsAccounts"]
    if entries is None:
        entries = KEYS["awsAccounts"].default
    found: list[AwsAccount] = []
    for index, entry in enumerate(entries):
        where = f"irsa:awsAccounts[{index}]"
        if not isinstance(entry, dict):
            p.add(f"{where} must be an object with a name, got {json.dumps(entry)}")
            continue
        for unknown in sorted(set(entry) - set(AWS_ACCOUNT_FIELDS)):
            p.add(f"{where} has an unknown field {unknown!r}; known fields: {', '.join(AWS_ACCOUNT_FIELDS)}")
        name, arn = entry.get("name"), entry.get("assumeRoleArn")
        external_id, account_region = entry.get("externalId"), entry.get("region")
        ok = p.check(isinstance(name, str) and bool(_KEY_NAME.fullmatch(name)),
                     f"{where}.name must be lowercase letters, digits and hyphens (at most 32), "
                     f"starting and ending with a letter or digit, got {json.dumps(name)}")
        if arn is not None:
            ok &= p.check(isinstance(arn, str) and bool(_ROLE_ARN.fullmatch(arn)),
                          f"{where}.assumeRoleArn must be an IAM role ARN such as "
                          f"arn:aws:iam::111122223333:role/irsa-deployer, got {json.dumps(arn)}")
        if external_id is not None:
            ok &= p.check(arn is not None, f"{where}.externalId goes with assumeRoleArn; set both or neither")
            ok &= p.check(isinstance(external_id, str) and bool(_EXTERNAL_ID.fullmatch(external_id)),
                          f"{where}.externalId must be 2 to 1224 letters, digits or '+=,.@:/-'")
        if account_region is not None:
            ok &= p.check(arn is not None,
                          f"{where}.region is for an account reached with assumeRoleArn; the stack's "
                          "own account uses aws:region")
            ok &= p.check(isinstance(account_region, str)
                          and _region_problem(account_region) is None,
                          f"{where}.region must be an AWS region name such as eu-west-1, "
                          f"got {json.dumps(account_region)}")
        if ok:
            found.append(AwsAccount(name, arn, external_id, account_region))
    for name in _duplicates([a.name for a in found]):
        p.add(f"irsa:awsAccounts names {name!r} more than once")
    if len([a for a in found if a.is_stack_account]) > 1:
        p.add("irsa:awsAccounts: only one account can be reached with the stack's own AWS "
              "configuration (no assumeRoleArn); give the others assumeRoleArn")
    ids = [_ROLE_ARN.fullmatch(a.assume_role_arn).group(1) for a in found if a.assume_role_arn]
    for account_id in _duplicates(ids):
        p.add(f"irsa:awsAccounts reaches account {account_id} more than once: an account holds "
              "one OIDC provider per issuer, so list it once")
    issuer_account = v["issuerAccount"] or ""
    names = [a.name for a in found]
    if not entries:
        p.check(not issuer_account, "irsa:issuerAccount: irsa:awsAccounts is [] (a cluster-only "
                "stack), so there is no account to hold the issuer; unset irsa:issuerAccount")
        for host in issuer.hosts:
            p.check(host == "github",
                    f"irsa:awsAccounts is [] (a cluster-only stack, no AWS resource), but the {host} "
                    "issuer makes AWS resources: use irsa:issuerHost github, or list the account "
                    "that holds the bucket in irsa:awsAccounts")
        p.check(region is not None,
                "irsa:awsAccounts is [] (a cluster-only stack) reads no region from AWS: set "
                "aws:region, the region pods call STS in (pulumi config set aws:region REGION)")
    elif issuer_account:
        p.check(bool({"s3", "cloudfront"} & set(issuer.hosts)),
                "irsa:issuerAccount is for irsa:issuerHost s3 or cloudfront (where the bucket "
                "lives); unset it for github")
        p.check(issuer_account in names or len(names) < len(entries),
                f"irsa:issuerAccount {issuer_account!r} is not in irsa:awsAccounts "
                f"({', '.join(names)})")
    resolved = issuer_account or (names[0] if names else "")
    return tuple(found), resolved


def _region_problem(region: str) -> str | None:
    try:
        s3.check_region(region)
    except ValueError as err:
        return str(err)
    return None
