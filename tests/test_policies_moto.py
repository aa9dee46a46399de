"""The policies this program creates, applied for real to moto's IAM, STS and S3 on 127.0.0.1.

The seed's last step: the pod's role gets credentials from
AssumeRoleWithWebIdentity and, with IAM permissions enforced, may create a
bucket with its prefix and gets AccessDenied for another prefix.

What moto checks: policy-document syntax, and (with enforcement on) the role's
permission policies for calls made with its credentials. What it does not: the
web-identity token (signature, iss, aud, expiry) and the trust policy's
conditions; those are checked here with the verifier's own evaluator.
"""

from __future__ import annotations

import json

import jwt
import pytest
from botocore.exceptions import ClientError
from cryptography.hazmat.primitives.asymmetric import rsa
from support import iam_setup, tokens
from support.moto_server import ACCOUNT_ID, shared_server

from irsa import oidc
from irsa.verify import trust

ISSUER = oidc.github_issuer_url("example-org", "oidc-issuer", "main")
AUDIENCE = "sts.amazonaws.com"
BUCKET_PREFIX = "k8s-default-aws-cli"


SIGNING_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def signing_key() -> rsa.RSAPrivateKey:
    return SIGNING_KEY


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


# What the documents must say, written out literally (not built with irsa.policies).
PREFIX = "raw.githubusercontent.com/example-org/oidc-issuer/refs/heads/main"
PROVIDER_ARN = f"arn:aws:iam::{ACCOUNT_ID}:oidc-provider/{PREFIX}"
EXPECTED_TRUST = {
    "Version": "2012-10-17",
    "Statement": [{
        "Effect": "Allow",
        "Principal": {"Federated": PROVIDER_ARN},
        "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": {"StringEquals": {
            f"{PREFIX}:sub": "system:serviceaccount:default:aws-cli",
            f"{PREFIX}:aud": "sts.amazonaws.com",
        }},
    }],
}


def test_iam_accepts_and_stores_the_documents_the_project_builds(moto):
    """What moto really checks here: the documents pass its IAM policy-document validation on
    put_role_policy/update_assume_role_policy, and come back as stored. The expected documents are literal,
    so a change in what ``irsa.policies`` builds shows up. moto does not check whether the
    conditions make sense for STS (that is the verifier's trust evaluation, used below)."""
    server, irsa = moto
    iam = server.client("iam")
    role = iam.get_role(RoleName=irsa.role_name)["Role"]
    assert role["Arn"] == f"arn:aws:iam::{ACCOUNT_ID}:role/k8s_default_aws-cli"
    assert irsa.provider_arn == PROVIDER_ARN
    assert role["AssumeRolePolicyDocument"] == EXPECTED_TRUST
    # CreateRole in moto does not validate the trust policy; UpdateAssumeRolePolicy does.
    iam.update_assume_role_policy(RoleName=irsa.role_name, PolicyDocument=json.dumps(EXPECTED_TRUST))
    stored = iam.get_role_policy(RoleName=irsa.role_name,
                                 PolicyName=f"s3-prefix-full-access-{BUCKET_PREFIX}")
    statements = stored["PolicyDocument"]["Statement"]
    assert statements[0]["Effect"] == "Allow" and statements[0]["Action"] == ["s3:*"]
    assert statements[0]["Resource"] == ["arn:aws:s3:::k8s-default-aws-cli-*",
                                         "arn:aws:s3:::k8s-default-aws-cli-*/*"]
    assert statements[1]["Action"] == ["s3:ListAllMyBuckets", "s3:GetBucketLocation"]
    assert statements[1]["Resource"] == "*"
    provider = iam.get_open_id_connect_provider(OpenIDConnectProviderArn=irsa.provider_arn)
    assert provider["Url"] == PREFIX
    assert provider["ClientIDList"] == [AUDIENCE]


def test_iam_refuses_a_malformed_document(moto):
    """Guard for the test above: moto's validation is real for PutRolePolicy and
    UpdateAssumeRolePolicy (CreateRole does not validate the trust policy in moto), so the
    project's documents passing them means something."""
    server, irsa = moto
    iam = server.client("iam")
    bad = json.dumps({"Version": "2012-10-17",
                      "Statement": [{"Effect": "Alow", "Action": "s3:*", "Resource": "*"}]})
    for call in (lambda: iam.put_role_policy(RoleName=irsa.role_name, PolicyName="bad", PolicyDocument=bad),
                 lambda: iam.update_assume_role_policy(RoleName=irsa.role_name, PolicyDocument=bad)):
        with pytest.raises(ClientError) as refused:
            call()
        assert refused.value.response["Error"]["Code"] == "MalformedPolicyDocument"


def test_web_identity_credentials_name_the_role_and_session(moto, signing_key):
    """What moto can show: AssumeRoleWithWebIdentity yields temporary (ASIA…) credentials whose
    GetCallerIdentity is a session of the role asked for. moto checks neither the token (its
    signature, issuer, audience) nor the trust policy, so this does NOT show the role trusts
    the token: ``test_the_stored_trust_policy_admits_only_the_tokens_service_account`` does
    that with the project's own evaluator, and the next test pins moto's blindness down."""
    server, irsa = moto
    credentials = assume(server, irsa, signing_key)
    assert credentials["AccessKeyId"].startswith("ASIA")
    identity = server.client("sts", temporary(credentials)).get_caller_identity()
    assert identity["Arn"] == f"arn:aws:sts::{ACCOUNT_ID}:assumed-role/k8s_default_aws-cli/k8s-demo"


def test_moto_issues_credentials_even_when_the_trust_policy_denies(moto, signing_key):
    """moto's limitation, stated as a test: with a trust policy that denies every token it still
    answers AssumeRoleWithWebIdentity. If moto ever starts evaluating trust policies, this test
    fails and the tests above can be made stronger."""
    server, irsa = moto
    deny = dict(EXPECTED_TRUST, Statement=[dict(EXPECTED_TRUST["Statement"][0], Effect="Deny")])
    server.client("iam").update_assume_role_policy(RoleName=irsa.role_name, PolicyDocument=json.dumps(deny))
    assert assume(server, irsa, signing_key)["AccessKeyId"].startswith("ASIA")
    # The project's evaluator, unlike moto, refuses it.
    stored = server.client("iam").get_role(RoleName=irsa.role_name)["Role"]["AssumeRolePolicyDocument"]
    decision = trust.evaluate(trust.parse_document(stored), PROVIDER_ARN, context_for("aws-cli"))
    assert not decision.allowed


def context_for(name: str) -> dict[str, str]:
    token = jwt.decode(tokens.sign(tokens.claims(ISSUER, "default", name, AUDIENCE), SIGNING_KEY),
                       options={"verify_signature": False})
    return trust.condition_context(ISSUER, token, AUDIENCE)


def test_the_stored_trust_policy_admits_only_the_tokens_service_account(moto):
    """The trust check moto skips, done by the verifier's evaluator on the policy IAM stored,
    with the condition context built from a real token's claims."""
    server, irsa = moto
    stored = server.client("iam").get_role(RoleName=irsa.role_name)["Role"]["AssumeRolePolicyDocument"]
    document = trust.parse_document(stored)
    assert trust.evaluate(document, PROVIDER_ARN, context_for("aws-cli")).allowed
    assert not trust.evaluate(document, PROVIDER_ARN, context_for("other")).allowed
    other_audience = trust.condition_context(ISSUER, {"sub": "system:serviceaccount:default:aws-cli",
                                                      "aud": ["https://kubernetes.default.svc"]}, AUDIENCE)
    assert not trust.evaluate(document, PROVIDER_ARN, other_audience).allowed


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
