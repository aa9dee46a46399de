"""The policies this program creates, applied for real to moto's IAM, STS and S3 on 127.0.0.1.

The seed's last step: the pod's role gets credentials from
AssumeRoleWithWebIdentity and, with IAM permissions enforced, may create a
bucket with its prefix and gets AccessDenied for another prefix.
"""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError
from cryptography.hazmat.primitives.asymmetric import rsa
from support import iam_setup, tokens
from support.moto_server import ACCOUNT_ID, shared_server

from irsa import oidc, policies

ISSUER = oidc.github_issuer_url("example-org", "oidc-issuer", "main")
AUDIENCE = "sts.amazonaws.com"
BUCKET_PREFIX = "k8s-default-aws-cli"


@pytest.fixture(scope="module")
def signing_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def moto():
    """A clean moto with the OIDC provider and the role for default/aws-cli."""
    server = shared_server()
    server.reset()
    iam = server.client("iam")
    provider_arn = iam_setup.create_provider(iam, ISSUER, [AUDIENCE])
    irsa = iam_setup.create_role(iam, provider_arn, ISSUER, "default", "aws-cli", AUDIENCE,
                                 BUCKET_PREFIX)
    yield server, irsa
    server.reset()


def assume(server, irsa, signing_key) -> dict:
    token = tokens.sign(tokens.claims(ISSUER, "default", "aws-cli", AUDIENCE), signing_key)
    answer = server.client("sts").assume_role_with_web_identity(
        RoleArn=irsa.role_arn, RoleSessionName="k8s-demo", WebIdentityToken=token)
    return answer["Credentials"]


def temporary(credentials: dict) -> dict[str, str]:
    return {"aws_access_key_id": credentials["AccessKeyId"],
            "aws_secret_access_key": credentials["SecretAccessKey"],
            "aws_session_token": credentials["SessionToken"]}


def test_iam_stores_the_trust_and_permission_policies_as_built(moto):
    server, irsa = moto
    iam = server.client("iam")
    role = iam.get_role(RoleName=irsa.role_name)["Role"]
    assert role["Arn"] == f"arn:aws:iam::{ACCOUNT_ID}:role/k8s_default_aws-cli"
    assert role["AssumeRolePolicyDocument"] == policies.trust_policy(
        irsa.provider_arn, oidc.condition_key_prefix(ISSUER), "default", "aws-cli", AUDIENCE)
    stored = iam.get_role_policy(RoleName=irsa.role_name,
                                 PolicyName=f"s3-prefix-full-access-{BUCKET_PREFIX}")
    assert stored["PolicyDocument"] == policies.s3_prefix_policy(BUCKET_PREFIX)
    provider = iam.get_open_id_connect_provider(OpenIDConnectProviderArn=irsa.provider_arn)
    assert provider["Url"] == oidc.condition_key_prefix(ISSUER)
    assert provider["ClientIDList"] == [AUDIENCE]


def test_web_identity_credentials_are_for_the_role(moto, signing_key):
    server, irsa = moto
    credentials = assume(server, irsa, signing_key)
    assert credentials["AccessKeyId"].startswith("ASIA")
    identity = server.client("sts", temporary(credentials)).get_caller_identity()
    assert identity["Arn"] == f"arn:aws:sts::{ACCOUNT_ID}:assumed-role/k8s_default_aws-cli/k8s-demo"


def test_enforced_permissions_allow_the_prefix_and_deny_others(moto, signing_key):
    server, irsa = moto
    # Enforcement on; the one unchecked call is the unsigned AssumeRoleWithWebIdentity.
    server.enforce_iam(unchecked_calls=1)
    credentials = assume(server, irsa, signing_key)
    s3 = server.client("s3", temporary(credentials), s3={"addressing_style": "path"})

    s3.create_bucket(Bucket=f"{BUCKET_PREFIX}-demo")
    assert f"{BUCKET_PREFIX}-demo" in [b["Name"] for b in s3.list_buckets()["Buckets"]]
    with pytest.raises(ClientError) as denied:
        s3.create_bucket(Bucket="k9s-default-aws-cli-demo")
    assert denied.value.response["Error"]["Code"] == "AccessDenied"
    assert denied.value.operation_name == "CreateBucket"


def test_enforcement_is_real_unknown_keys_are_refused(moto):
    server, irsa = moto
    server.enforce_iam()
    with pytest.raises(ClientError) as refused:
        server.client("iam").get_role(RoleName=irsa.role_name)
    assert refused.value.response["Error"]["Code"] == "InvalidClientTokenId"
