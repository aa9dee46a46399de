"""examples/account: an account owner's stack makes the OIDC provider and roles from the cluster stack's outputs."""

import json

import pytest
import yaml

from conftest import IRSA_STACK_OUTPUTS, ROOT, run_program
from irsa import project_config
from irsa.iam_names import stack_prefix

PREFIX = stack_prefix("irsa-account", "test")

EXAMPLE = ROOT / "examples" / "account"
OIDC = "aws:iam/openIdConnectProvider:OpenIdConnectProvider"
ROLE = "aws:iam/role:Role"
BASE = {"irsa-account:clusterStack": "organization/irsa/cluster",
        "irsa-account:serviceAccounts": json.dumps([
            {"namespace": "reports", "name": "report-writer", "s3BucketPrefix": "k8s-reports"},
            {"namespace": "etl", "name": "loader", "policyArns": ["arn:aws:iam::aws:policy/ReadOnlyAccess"]}]),
        "irsa-account:tags": json.dumps({"team": "data"})}


def run(recorder, config):
    recorder.run(lambda: run_program(config, program=EXAMPLE / "__main__.py"))
    return recorder


def prefix(url: str) -> str:
    return url.removeprefix("https://")


@pytest.mark.pulumi_project("irsa-account")
def test_the_account_stack_makes_the_provider_and_roles_trusting_it(pulumi_mocks):
    r = run(pulumi_mocks, BASE)
    assert r.one("pulumi:pulumi:StackReference").name == "organization/irsa/cluster"
    provider = r.one(OIDC)
    assert provider.name == "oidc-provider"
    assert provider.inputs["url"] == IRSA_STACK_OUTPUTS["issuerUrl"]
    assert provider.inputs["clientIdLists"] == ["sts.amazonaws.com"]
    assert provider.inputs["tags"] == {"team": "data"}
    out = {k: v.value for k, v in r.stack_outputs.items()}
    issuer = prefix(IRSA_STACK_OUTPUTS["issuerUrl"])
    assert out["oidcProviderArn"] == f"arn:aws:iam::123456789012:oidc-provider/{issuer}"
    roles = {reg.name: reg for reg in r.of_type(ROLE)}
    assert set(roles) == {"reports/report-writer-role", "etl/loader-role"}
    trust = json.loads(roles["etl/loader-role"].inputs["assumeRolePolicy"])
    (statement,) = trust["Statement"]
    assert statement["Principal"]["Federated"] == out["oidcProviderArn"]
    assert statement["Condition"]["StringEquals"] == {
        f"{issuer}:sub": "system:serviceaccount:etl:loader", f"{issuer}:aud": "sts.amazonaws.com"}
    assert roles["etl/loader-role"].inputs["tags"]["team"] == "data"
    assert out["roleArns"] == {"reports/report-writer": f"arn:aws:iam::123456789012:role/{PREFIX}_reports_report-writer",
                               "etl/loader": f"arn:aws:iam::123456789012:role/{PREFIX}_etl_loader"}


@pytest.mark.pulumi_project("irsa-account")
def test_while_the_cluster_moves_hosts_each_issuer_gets_a_provider_and_every_role_trusts_both(pulumi_mocks):
    r = run(pulumi_mocks, {**BASE, "irsa-account:issuerHosts": json.dumps(["github", "s3"])})
    providers = {reg.name: reg.inputs["url"] for reg in r.of_type(OIDC)}
    assert providers == {"oidc-provider": IRSA_STACK_OUTPUTS["issuerUrl"],
                         "oidc-s3-provider": IRSA_STACK_OUTPUTS["previousIssuerUrls"][0]}
    for role in r.of_type(ROLE):
        trust = json.loads(role.inputs["assumeRolePolicy"])
        assert sorted(s["Principal"]["Federated"].split("oidc-provider/")[1] for s in trust["Statement"]) == \
            sorted(prefix(u) for u in providers.values())


@pytest.mark.pulumi_project("irsa-account")
@pytest.mark.parametrize("extra, expected", [
    ({"irsa-account:serviceAccounts": json.dumps([{"namespace": "a", "name": "b", "roleArn": "x"}])},
     "irsa-account:serviceAccounts[0].roleArn is for the cluster stack"),
    ({"irsa-account:serviceAccounts": json.dumps([{"namespace": "A", "name": "b"}])},
     "irsa-account:serviceAccounts[0].namespace must be a DNS-1123 label"),
    ({"irsa-account:issuerHosts": json.dumps(["gitlab"])}, "irsa-account:issuerHosts must list distinct hosts"),
])
def test_bad_configuration_stops_naming_the_key(pulumi_mocks, extra, expected):
    with pytest.raises(Exception) as raised:
        run(pulumi_mocks, {**BASE, **extra})
    assert expected in str(raised.value)
    assert not pulumi_mocks.of_type(ROLE)


def test_the_example_project_follows_the_clis_rules():
    project = yaml.safe_load((EXAMPLE / "Pulumi.yaml").read_text())
    stack = yaml.safe_load((EXAMPLE / "Pulumi.dev.yaml").read_text())
    assert project_config.cli_rule_violations(project) == []
    assert project_config.stack_violations(project, stack) == []
    assert "-e ../..[program]" in (EXAMPLE / "requirements.txt").read_text().splitlines()
