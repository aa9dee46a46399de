"""How the program reaches each AWS account of irsa:awsAccounts: one provider per account."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from irsa import iam_names


@dataclass(frozen=True)
class AccountProviderArgs:
    """An account reached by assuming a role from the stack's own credentials."""

    assume_role_arn: str
    external_id: str | None = None
    # The account's region; None: aws:region (explicit providers do not read it themselves).
    region: str | None = None
    # aws:profile, the credentials the role is assumed with (explicit providers do not read it).
    profile: str | None = None
    # irsa:tags, as the provider's default tags: every taggable resource of the account gets them.
    tags: Mapping[str, str] = field(default_factory=dict)


def account_provider(account_name: str, args: AccountProviderArgs) -> aws.Provider:
    """The explicit AWS provider for another account, named ``aws-NAME``.

    It assumes ``assume_role_arn`` with a session name that names the stack
    (``irsa-PROJECT-STACK``), so CloudTrail in that account shows which stack acted.
    """
    session = iam_names.assume_role_session_name(pulumi.get_project(), pulumi.get_stack())
    return aws.Provider(
        f"aws-{account_name}",
        region=args.region,
        profile=args.profile,
        assume_roles=[aws.ProviderAssumeRoleArgs(
            role_arn=args.assume_role_arn,
            external_id=args.external_id,
            session_name=session,
        )],
        default_tags=aws.ProviderDefaultTagsArgs(tags=dict(args.tags)) if args.tags else None,
    )
