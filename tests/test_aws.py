"""OidcProvider and ServiceAccountRole under Pulumi mocks."""

import json

import pulumi
import pytest

from conftest import ACCOUNT_ID, MOCK_ROOT_SHA1
from irsa import oidc
from irsa.components.aws import OidcProvider, OidcProviderArgs, ServiceAccountRole, ServiceAccountRoleArgs

URL = "https://raw.githubusercontent.com/example-org/oidc-issuer/refs/heads/main"
PREFIX = URL.removeprefix("https://")
PROVIDER_ARN = f"arn:aws:iam::{ACCOUNT_ID}:oidc-provider/{PREFIX}"
OIDC_TYPE = "aws:iam/openIdConnectProvider:OpenIdConnectProvider"


def provider(thumbprints=("auto",), client_ids=("sts.amazonaws.com",)):
    made = OidcProvider("oidc", OidcProviderArgs(issuer_url=URL, client_ids=client_ids, thumbprints=thumbprints))
    return {"arn": made.arn, "url": made.url}


def test_provider_url_is_the_discovery_documents_issuer(pulumi_mocks):
    out = pulumi_mocks.run(provider)
    registered = pulumi_mocks.one(OIDC_TYPE)
    assert registered.inputs["url"] == oidc.discovery_document(URL)["issuer"]
    assert registered.inputs["clientIdLists"] == ["sts.amazonaws.com"]
    assert out["arn"].value == PROVIDER_ARN
    assert out["url"].value == PREFIX
    assert registered.parent == pulumi_mocks.one("irsa:aws:OidcProvider").urn


@pytest.mark.parametrize(
    "thumbprints, expected",
    [
        (("auto",), [MOCK_ROOT_SHA1]),  # the top of the chain, not the leaf
        (("C" * 40,), ["C" * 40]),
        (("auto", "c" * 40), [MOCK_ROOT_SHA1, "c" * 40]),
        (("auto", "auto"), [MOCK_ROOT_SHA1]),
        ((), None),
    ],
)
def test_thumbprints(pulumi_mocks, thumbprints, expected):
    pulumi_mocks.run(lambda: provider(thumbprints=thumbprints))
    assert pulumi_mocks.one(OIDC_TYPE).inputs.get("thumbprintLists") == expected


def role(**overrides):
    args = dict(provider_arn=PROVIDER_ARN, issuer_url=URL, namespace="default", name="aws-cli",
                s3_bucket_prefix="k8s-default-aws-cli")
    made = ServiceAccountRole("default-aws-cli", ServiceAccountRoleArgs(**{**args, **overrides}))
    return {"arn": made.arn, "name": made.name}


def test_role_trust_policy_names_provider_subject_and_audience(pulumi_mocks):
    out = pulumi_mocks.run(role)
    registered = pulumi_mocks.one("aws:iam/role:Role")
    assert registered.inputs["name"] == "k8s_default_aws-cli"
    trust = json.loads(registered.inputs["assumeRolePolicy"])
    (statement,) = trust["Statement"]
    assert statement["Principal"] == {"Federated": PROVIDER_ARN}
    assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert statement["Condition"] == {"StringEquals": {
        f"{PREFIX}:sub": "system:serviceaccount:default:aws-cli",
        f"{PREFIX}:aud": "sts.amazonaws.com",
    }}
    assert out["arn"].value == f"arn:aws:iam::{ACCOUNT_ID}:role/k8s_default_aws-cli"


def test_s3_prefix_gives_the_seeds_inline_policy(pulumi_mocks):
    pulumi_mocks.run(role)
    (inline,) = pulumi_mocks.of_type("aws:iam/rolePolicy:RolePolicy")
    document = json.loads(inline.inputs["policy"])
    assert document["Statement"][0]["Resource"] == [
        "arn:aws:s3:::k8s-default-aws-cli-*", "arn:aws:s3:::k8s-default-aws-cli-*/*"]
    assert inline.inputs["name"] == "s3-prefix-full-access-k8s-default-aws-cli"


def test_policy_arns_and_inline_policy(pulumi_mocks):
    policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sqs:*", "Resource": "*"}]}
    pulumi_mocks.run(lambda: role(s3_bucket_prefix=None, policy=policy, policy_arns=(
        "arn:aws:iam::aws:policy/ReadOnlyAccess", "arn:aws:iam::123456789012:policy/team/Uploads")))
    attachments = pulumi_mocks.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
    assert sorted(a.name for a in attachments) == [
        "default-aws-cli-attach-aws:iam:123456789012:policy/team/Uploads",
        "default-aws-cli-attach-aws:iam:aws:policy/ReadOnlyAccess"]
    (inline,) = pulumi_mocks.of_type("aws:iam/rolePolicy:RolePolicy")
    assert json.loads(inline.inputs["policy"]) == policy
    component = pulumi_mocks.one("irsa:aws:ServiceAccountRole")
    for child in attachments + [inline, pulumi_mocks.one("aws:iam/role:Role")]:
        assert child.parent == component.urn


def test_role_without_permissions_warns(pulumi_mocks, monkeypatch):
    warnings = []
    monkeypatch.setattr(pulumi.log, "warn", lambda msg, resource=None, **kw: warnings.append(msg))
    pulumi_mocks.run(lambda: role(s3_bucket_prefix=None))
    assert any("default/aws-cli has no permissions" in w for w in warnings)


def test_wildcard_uses_string_like(pulumi_mocks):
    pulumi_mocks.run(lambda: role(name="job-*", role_name="k8s_batch_jobs"))
    trust = json.loads(pulumi_mocks.one("aws:iam/role:Role").inputs["assumeRolePolicy"])
    assert list(trust["Statement"][0]["Condition"]) == ["StringLike"]


def test_oversized_trust_policy_fails_naming_the_service_account(pulumi_mocks):
    long_url = "https://issuer.example.com/" + "x" * 700
    with pytest.raises(Exception, match="service account default/aws-cli would be"):
        pulumi_mocks.run(lambda: role(issuer_url=long_url))
