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
