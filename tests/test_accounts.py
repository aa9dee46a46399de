"""irsa:awsAccounts under mocks: one account (today's stack, unchanged), two, and none.

The URN lists in fixtures/urns/ were recorded from the program before accounts
existed (commit 1c368e6): an existing stack must find every resource again.
"""

from __future__ import annotations

import json

import pytest

from conftest import ROOT, IrsaMocks, run_program, stack_file_config
from test_wiring import BUCKETS, EVERYTHING

DEV = stack_file_config(ROOT / "Pulumi.dev.yaml")
PROD = stack_file_config(ROOT / "Pulumi.prod.yaml")
URNS = ROOT / "tests" / "fixtures" / "urns"
OIDC = "aws:iam/openIdConnectProvider:OpenIdConnectProvider"
ROLE = "aws:iam/role:Role"
SERVICE_ACCOUNT = "kubernetes:core/v1:ServiceAccount"
ROLE_ARN_ANNOTATION = "eks.amazonaws.com/role-arn"
DATA_ROLE = "arn:aws:iam::222222222222:role/irsa-deployer"

# The configurations recorded before accounts existed (see the module docstring).
EXISTING = {
    "dev": DEV, "prod": PROD, "every-option": EVERYTHING, "buckets": BUCKETS,
    "s3-from-github": {**DEV, "irsa:issuerHost": "s3", "irsa:issuerBucket": "example-oidc-issuer",
                       "irsa:previousIssuerHosts": '["github"]', "irsa:tags": '{"team": "platform"}'},
    "cloudfront-derived": {**DEV, "irsa:issuerHost": "cloudfront"},
}
GIVEN = "arn:aws:iam::333333333333:role/made-by-the-account-stack"
CLUSTER_ONLY = DEV | {
    "irsa:awsAccounts": "[]",
    "irsa:serviceAccounts": json.dumps([
        {"namespace": "default", "name": "aws-cli", "roleArn": GIVEN, "testPod": True},
        {"namespace": "velero", "name": "velero", "existing": True,
         "roleArn": "arn:aws:iam::444444444444:role/velero"},
    ]),
}


def run(recorder, config):
    recorder.fresh()
    recorder.run(lambda: run_program(config))
    return recorder


def urns(recorder) -> set[str]:
    return {r.urn for r in recorder.registrations}


@pytest.mark.parametrize("name", list(EXISTING))
def test_an_existing_stack_keeps_every_urn(pulumi_mocks, name):
    recorded = set((URNS / f"{name}.txt").read_text().split())
    assert urns(run(pulumi_mocks, EXISTING[name])) == recorded
    # Writing today's default out changes nothing either.
    explicit = {**EXISTING[name], "irsa:awsAccounts": json.dumps([{"name": "default"}])}
    assert urns(run(pulumi_mocks, explicit)) == recorded


def annotations(recorder) -> dict[str, str]:
    found = {}
    for reg in recorder.registrations:
        if reg.type in (SERVICE_ACCOUNT, "kubernetes:core/v1:ServiceAccountPatch"):
            metadata = reg.inputs["metadata"]
            if ROLE_ARN_ANNOTATION in (metadata.get("annotations") or {}):
                found[f"{metadata['namespace']}/{metadata['name']}"] = metadata["annotations"][
                    ROLE_ARN_ANNOTATION]
    return found


def test_a_cluster_only_stack_makes_no_aws_resource_and_calls_no_aws_data_source(pulumi_mocks, monkeypatch):
    invoked = []
    original = IrsaMocks.call

    def call(self, args):
        invoked.append(args.token)
        return original(self, args)

    monkeypatch.setattr(IrsaMocks, "call", call)
    r = run(pulumi_mocks, CLUSTER_ONLY)
    aws = [reg.type for reg in r.registrations if reg.type.startswith(("aws:", "pulumi:providers:aws"))]
    assert aws == []
    assert [t for t in invoked if t.startswith("aws:")] == []
    assert annotations(r) == {"default/aws-cli": GIVEN,
                              "velero/velero": "arn:aws:iam::444444444444:role/velero"}
    # The rest of the cluster side is all there: issuer files, host commands, the test pod.
    assert {"issuer-discovery", "issuer-jwks", "cluster-apiserver-accept",
            "default/aws-cli-test-pod"} <= {reg.name for reg in r.registrations}
    out = {k: v.value for k, v in r.stack_outputs.items()}
    assert out["serviceAccountRoles"] == {"default/aws-cli": GIVEN,
                                          "velero/velero": "arn:aws:iam::444444444444:role/velero"}
    assert out["oidcProviderArns"] == {}
    assert "oidcProviderArn" not in out
    assert out["issuerUrl"] == "https://raw.githubusercontent.com/example-org/oidc-issuer/refs/heads/main"
    assert out["oidcProviderUrl"] == out["issuerUrl"].removeprefix("https://")


def test_a_given_role_arn_is_annotated_beside_roles_made_here(pulumi_mocks):
    accounts = [{"namespace": "default", "name": "aws-cli", "s3BucketPrefix": "k8s-default-aws-cli"},
                {"namespace": "apps", "name": "reader", "roleArn": GIVEN, "testPod": True}]
    r = run(pulumi_mocks, {**DEV, "irsa:serviceAccounts": json.dumps(accounts)})
    assert [reg.name for reg in r.of_type(ROLE)] == ["default/aws-cli-role"]
    assert annotations(r) == {"default/aws-cli": "arn:aws:iam::123456789012:role/k8s_default_aws-cli",
                              "apps/reader": GIVEN}
    assert r.stack_outputs["serviceAccountRoles"].value["apps/reader"] == GIVEN


# --- two accounts -------------------------------------------------------------------------

DATA_ID = "222222222222"
TWO = DEV | {
    "irsa:awsAccounts": json.dumps([{"name": "default"},
                                    {"name": "data", "assumeRoleArn": DATA_ROLE, "externalId": "cluster-7"}]),
    "irsa:tags": json.dumps({"team": "platform"}),
    "irsa:serviceAccounts": json.dumps([
        {"namespace": "default", "name": "aws-cli", "s3BucketPrefix": "k8s-default-aws-cli", "testPod": True},
        {"namespace": "etl", "name": "loader", "account": "data", "s3BucketPrefix": "k8s-etl",
         "createNamespace": True},
    ]),
}
GITHUB_ISSUER = "https://raw.githubusercontent.com/example-org/oidc-issuer/refs/heads/main"


def account_of_arn(arn: str) -> str:
    return arn.split(":")[4]


def provider_name(recorder, reg) -> str | None:
    provider = recorder.provider_of(reg)
    return None if provider is None else provider.name


def test_two_accounts_each_get_a_provider_and_hold_their_roles(pulumi_mocks):
    r = run(pulumi_mocks, TWO)
    aws_provider = r.one("pulumi:providers:aws")
    assert aws_provider.name == "aws-data"
    assert json.loads(aws_provider.inputs["assumeRoles"]) == [
        {"roleArn": DATA_ROLE, "externalId": "cluster-7", "sessionName": "irsa-irsa-test"}]
    assert aws_provider.inputs["region"] == "ap-northeast-1", "the stack's aws:region by default"
    assert json.loads(aws_provider.inputs["defaultTags"]) == {"tags": {"team": "platform"}}

    oidc = {reg.name: reg for reg in r.of_type(OIDC)}
    assert set(oidc) == {"oidc-provider", "data/oidc-provider"}
    assert provider_name(r, oidc["oidc-provider"]) is None
    assert provider_name(r, oidc["data/oidc-provider"]) == "aws-data"
    assert {reg.inputs["url"] for reg in oidc.values()} == {GITHUB_ISSUER}

    roles = {reg.name: reg for reg in r.of_type(ROLE)}
    assert set(roles) == {"default/aws-cli-role", "data/etl/loader-role"}
    assert provider_name(r, roles["default/aws-cli-role"]) is None
    assert provider_name(r, roles["data/etl/loader-role"]) == "aws-data"
    out = {k: v.value for k, v in r.stack_outputs.items()}
    arns = out["oidcProviderArns"]
    assert {name: account_of_arn(arn) for name, arn in arns.items()} == {"default": "123456789012",
                                                                         "data": DATA_ID}
    assert out["oidcProviderArn"] == arns["default"]
    for name, account in (("default/aws-cli-role", "default"), ("data/etl/loader-role", "data")):
        trust = json.loads(roles[name].inputs["assumeRolePolicy"])
        assert [s["Principal"]["Federated"] for s in trust["Statement"]] == [arns[account]]
    roles_out = out["serviceAccountRoles"]
    assert account_of_arn(roles_out["etl/loader"]) == DATA_ID
    assert annotations(r)["etl/loader"] == roles_out["etl/loader"]


def test_while_moving_hosts_every_account_trusts_its_own_providers_of_both_issuers(pulumi_mocks):
    r = run(pulumi_mocks, {**TWO, "irsa:issuerHost": "s3", "irsa:issuerBucket": "example-oidc-issuer",
                           "irsa:previousIssuerHosts": '["github"]'})
    oidc = {reg.name: provider_name(r, reg) for reg in r.of_type(OIDC)}
    assert oidc == {"oidc-s3-provider": None, "oidc-provider": None,
                    "data/oidc-s3-provider": "aws-data", "data/oidc-provider": "aws-data"}
    for role in r.of_type(ROLE):
        account = DATA_ID if role.name.startswith("data/") else "123456789012"
        trust = json.loads(role.inputs["assumeRolePolicy"])
        federated = [s["Principal"]["Federated"] for s in trust["Statement"]]
        assert len(federated) == 2 and {account_of_arn(f) for f in federated} == {account}, federated


def test_the_s3_issuer_lives_in_the_issuer_account(pulumi_mocks):
    config = {**TWO, "irsa:issuerHost": "s3", "irsa:issuerAccount": "data",
              "irsa:awsAccounts": json.dumps([{"name": "default"},
                                              {"name": "data", "assumeRoleArn": DATA_ROLE,
                                               "region": "eu-central-1"}])}
    r = run(pulumi_mocks, config)
    store = [reg for reg in r.registrations if reg.type.startswith("aws:s3/")]
    assert store and all(reg.name.startswith("data/issuer-s3-") for reg in store)
    assert {provider_name(r, reg) for reg in store} == {"aws-data"}
    bucket = r.one("aws:s3/bucket:Bucket").inputs["bucket"]
    assert bucket.startswith(f"irsa-oidc-{DATA_ID}-"), "the derived name is the data account's"
    issuer = f"https://{bucket}.s3.eu-central-1.amazonaws.com"
    assert r.stack_outputs["issuerUrl"].value == issuer
    assert {reg.inputs["url"] for reg in r.of_type(OIDC)} == {issuer}


def test_adding_an_account_changes_none_of_the_default_accounts_urns(pulumi_mocks):
    before = urns(run(pulumi_mocks, DEV))
    after = urns(run(pulumi_mocks, {**DEV, "irsa:awsAccounts": TWO["irsa:awsAccounts"]}))
    assert before < after
    assert {u.rsplit("::", 1)[-1] for u in after - before} == {
        "aws-data", "data/oidc", "data/oidc-provider"}


def test_a_role_moving_between_accounts_is_a_new_resource(pulumi_mocks):
    """Same URN with another provider could be diffed as an update in the wrong account."""
    def role_urns(account):
        entries = json.loads(TWO["irsa:serviceAccounts"])
        entries[1]["account"] = account
        r = run(pulumi_mocks, {**TWO, "irsa:serviceAccounts": json.dumps(entries)})
        return {reg.urn for reg in r.of_type(ROLE) if "loader" in reg.name}

    assert role_urns("data").isdisjoint(role_urns("default"))


@pytest.mark.parametrize("config", [TWO, {**TWO, "irsa:issuerHost": "cloudfront",
                                          "irsa:issuerDomain": "oidc.example.com",
                                          "irsa:previousIssuerHosts": '["s3"]',
                                          "irsa:issuerAccount": "data"}])
def test_every_urn_is_unique_with_two_accounts(pulumi_mocks, config):
    all_urns = [reg.urn for reg in run(pulumi_mocks, config).registrations]
    assert len(all_urns) == len(set(all_urns))
