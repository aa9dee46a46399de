"""IRSA's AWS side built in moto with boto3 from the project's own policy builders.

The same documents ``irsa.components.aws`` hands to Pulumi, created through the
real IAM API, so tests exercise what ``pulumi up`` would create.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from irsa import policies

ADMIN_POLICY = {"Version": policies.POLICY_VERSION,
                "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}


@dataclass(frozen=True)
class Irsa:
    provider_arn: str
    role_arn: str
    role_name: str


def condition_prefix(issuer_url: str) -> str:
    """IAM's condition-key prefix for an issuer: the URL without its scheme.

    ``irsa.oidc.condition_key_prefix`` also validates the URL and refuses the
    port a test host has, so the prefix is taken here without that check.
    """
    return issuer_url.split("://", 1)[1]


def create_provider(iam: Any, issuer_url: str, client_ids: list[str]) -> str:
    """An IAM OIDC provider for the issuer; its ARN."""
    answer = iam.create_open_id_connect_provider(Url=issuer_url, ClientIDList=client_ids,
                                                 ThumbprintList=[])
    return answer["OpenIDConnectProviderArn"]


def create_role(iam: Any, provider_arn: str, issuer_url: str, namespace: str, name: str,
                audience: str, bucket_prefix: str | None = None, role_name: str | None = None) -> Irsa:
    """The role a service account assumes: trust policy and S3 prefix policy from ``irsa.policies``."""
    role_name = role_name or f"k8s_{namespace}_{name}"
    trust = policies.trust_policy(provider_arn, condition_prefix(issuer_url), namespace, name, audience)
    role = iam.create_role(RoleName=role_name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]
    if bucket_prefix:
        iam.put_role_policy(RoleName=role_name, PolicyName=f"s3-prefix-full-access-{bucket_prefix}",
                            PolicyDocument=json.dumps(policies.s3_prefix_policy(bucket_prefix)))
    return Irsa(provider_arn, role["Arn"], role_name)


def create_admin(iam: Any, user: str = "irsa-admin") -> dict[str, str]:
    """An IAM user allowed everything, with an access key: the operator who runs verify."""
    iam.create_user(UserName=user)
    iam.put_user_policy(UserName=user, PolicyName="admin", PolicyDocument=json.dumps(ADMIN_POLICY))
    key = iam.create_access_key(UserName=user)["AccessKey"]
    return {"aws_access_key_id": key["AccessKeyId"], "aws_secret_access_key": key["SecretAccessKey"]}
