"""The real __main__.py under Pulumi mocks with the example stack: graph, order, outputs."""

import json

import pulumi
import pytest

from conftest import ROOT, run_program, secret_value, stack_file_config

DEV = stack_file_config(ROOT / "Pulumi.dev.yaml")

COMMAND = "command:remote:Command"
FILE = "github:index/repositoryFile:RepositoryFile"
OIDC = "aws:iam/openIdConnectProvider:OpenIdConnectProvider"


def run(pulumi_mocks, config=None, secret_keys=None):
    pulumi_mocks.run(lambda: run_program(config or DEV, secret_keys))
    return pulumi_mocks


def depends_on(recorder, later, earlier) -> bool:
    return earlier.urn in recorder.all_dependencies(later)


def test_complete_resource_graph_with_parents(pulumi_mocks):
    r = run(pulumi_mocks)
    parent_of = {reg.urn: reg for reg in r.registrations}

    def parent_type(reg):
        return parent_of[reg.parent].type if reg.parent in parent_of else None

    graph = sorted((reg.type, reg.name, parent_type(reg)) for reg in r.registrations if reg.custom
                   and not reg.type.startswith("pulumi:providers:"))
    assert graph == sorted([
        ("tls:index/privateKey:PrivateKey", "issuer-key-primary", "irsa:issuer:OidcIssuer"),
        (FILE, "issuer-discovery", "irsa:issuer:OidcIssuer"),
        (FILE, "issuer-jwks", "irsa:issuer:OidcIssuer"),
        (COMMAND, "cluster-apiserver-accept", "irsa:cluster:ClusterIssuerConfig"),
        (COMMAND, "cluster-apiserver-sign", "irsa:cluster:ClusterIssuerConfig"),
        (COMMAND, "cluster-apiserver-retire", "irsa:cluster:ClusterIssuerConfig"),
        (COMMAND, "cluster-kubeconfig", "irsa:cluster:ClusterIssuerConfig"),
        (OIDC, "oidc-provider", "irsa:aws:OidcProvider"),
        ("aws:iam/role:Role", "default-aws-cli-role", "irsa:aws:ServiceAccountRole"),
        ("aws:iam/rolePolicy:RolePolicy", "default-aws-cli-s3", "irsa:aws:ServiceAccountRole"),
        ("kubernetes:core/v1:ServiceAccount", "default-aws-cli-service-account",
         "irsa:workload:ServiceAccountWorkload"),
        ("kubernetes:core/v1:Pod", "default-aws-cli-test-pod", "irsa:workload:ServiceAccountWorkload"),
    ])
    assert r.one("pulumi:providers:kubernetes").name == "cluster"
    assert r.one("pulumi:providers:github").inputs["owner"] == "example-org"


def test_ordering_provider_cluster_and_pod(pulumi_mocks):
    r = run(pulumi_mocks)
    files = r.of_type(FILE)
    assert len(files) == 2
    oidc_provider = r.one(OIDC)
    host_command = r.by_name("cluster-apiserver-accept")
    for f in files:
        assert depends_on(r, host_command, f), "the host command must wait for the issuer files"
        assert depends_on(r, oidc_provider, f), "OIDC provider must wait for the issuer files"
    pod = r.one("kubernetes:core/v1:Pod")
    for command in r.of_type(COMMAND):
        assert depends_on(r, pod, command), "test pod must wait for the host configuration"
    assert depends_on(r, pod, r.one("aws:iam/rolePolicy:RolePolicy")), "test pod must wait for the role policy"


def test_oidc_provider_url_equals_discovery_issuer(pulumi_mocks):
    r = run(pulumi_mocks)
    discovery = next(f for f in r.of_type(FILE) if f.inputs["file"] == ".well-known/openid-configuration")
    assert r.one(OIDC).inputs["url"] == json.loads(discovery.inputs["content"])["issuer"]
    assert r.one(OIDC).inputs["clientIdLists"] == ["sts.amazonaws.com"]


def test_stack_outputs(pulumi_mocks):
    r = run(pulumi_mocks)
    out = {k: v.value for k, v in r.stack_outputs.items()}
    issuer = "https://raw.githubusercontent.com/example-org/oidc-issuer/refs/heads/main"
    assert set(out) == {"issuerUrl", "discoveryUrl", "jwksUri", "oidcProviderArn", "oidcProviderUrl",
                        "audience", "signingKeyIds", "serviceAccountRoles", "kubeconfig"}
    assert out["issuerUrl"] == issuer
    assert out["discoveryUrl"] == issuer + "/.well-known/openid-configuration"
    assert out["jwksUri"] == issuer + "/jwks.json"
    assert out["oidcProviderUrl"] == issuer.removeprefix("https://")
    assert out["oidcProviderArn"].endswith(":oidc-provider/" + issuer.removeprefix("https://"))
    assert out["audience"] == "sts.amazonaws.com"
    assert len(out["signingKeyIds"]) == 1
    assert out["serviceAccountRoles"] == {"default/aws-cli": "arn:aws:iam::123456789012:role/k8s_default_aws-cli"}
    assert r.stack_outputs["kubeconfig"].secret is True
    for name in ("issuerUrl", "oidcProviderArn", "serviceAccountRoles", "signingKeyIds"):
        assert r.stack_outputs[name].secret is False, name


def test_test_pod_gets_region_from_aws_config(pulumi_mocks):
    r = run(pulumi_mocks)
    env = {e["name"]: e["value"] for e in r.one("kubernetes:core/v1:Pod").inputs["spec"]["containers"][0]["env"]}
    assert env["AWS_REGION"] == "ap-northeast-1"


def test_configured_kubeconfig_is_used_and_stays_secret(pulumi_mocks):
    config = {**DEV, "irsa:kubeconfig": "apiVersion: v1\nkind: Config\n# mine\n"}
    r = run(pulumi_mocks, config, ["irsa:kubeconfig"])
    assert r.stack_outputs["kubeconfig"].value.endswith("# mine\n")
    assert r.stack_outputs["kubeconfig"].secret is True


def test_wildcard_account_gets_a_role_but_no_service_account(pulumi_mocks):
    accounts = [{"namespace": "batch", "name": "job-*", "allowWildcard": True, "s3BucketPrefix": "k8s-batch"}]
    r = run(pulumi_mocks, {**DEV, "irsa:serviceAccounts": json.dumps(accounts)})
    trust = json.loads(r.one("aws:iam/role:Role").inputs["assumeRolePolicy"])
    assert "StringLike" in trust["Statement"][0]["Condition"]
    assert not r.of_type("kubernetes:core/v1:ServiceAccount")
    assert r.stack_outputs["serviceAccountRoles"].value == {
        "batch/job-*": "arn:aws:iam::123456789012:role/k8s_batch_job-all"}


def test_bad_config_stops_before_any_resource(pulumi_mocks):
    config = {**DEV, "irsa:keyBits": "1024", "irsa:hots": "x"}
    with pytest.raises(pulumi.RunError) as err:
        run(pulumi_mocks, config)
    message = str(err.value)
    assert "irsa:keyBits must be one of 2048, 3072 or 4096, got 1024" in message
    assert "irsa:hots is not a configuration key of this project (did you mean irsa:hosts?)" in message
    assert pulumi_mocks.registrations == []


def test_github_token_from_config_reaches_the_provider_as_a_secret(pulumi_mocks):
    r = run(pulumi_mocks, {**DEV, "github:token": "ghp_example"}, ["github:token"])
    provider = r.one("pulumi:providers:github")
    assert provider.inputs["owner"] == "example-org"
    assert secret_value(provider.inputs["token"]) == "ghp_example"
    assert not r.by_name("issuer-jwks").inputs.get("token")
