"""Which provider every resource of the real program goes through.

The mocks accept any provider, so without these checks a resource that lost its
explicit provider would pass every test while, for real, Kubernetes objects went
to whatever cluster the default kubeconfig names and GitHub files to the token
owner's namespace. Each resource type the program can create is listed here with
the provider it must use; a type the program creates that is not listed fails.
"""

from __future__ import annotations

import json

import pulumi_aws as aws
import pytest

from conftest import MOCK_REGION, ROOT, UnknownInvoke, run_program, stack_file_config

DEV = stack_file_config(ROOT / "Pulumi.dev.yaml")

# Every account option that adds resources, and a pattern account (role only).
EVERYTHING = DEV | {
    "irsa:createRepository": "true",
    "irsa:serviceAccounts": json.dumps([
        {"namespace": "apps", "name": "writer", "s3BucketPrefix": "k8s-apps-writer",
         "testPod": True, "createNamespace": True,
         "policyArns": ["arn:aws:iam::aws:policy/ReadOnlyAccess"],
         "policy": {"Version": "2012-10-17",
                    "Statement": [{"Effect": "Allow", "Action": "s3:ListAllMyBuckets", "Resource": "*"}]}},
        {"namespace": "team-*", "name": "*", "allowWildcard": True},
    ]),
}

# The provider each resource type must be registered with: (provider type, provider name),
# or None for the engine's default provider of its package.
KUBERNETES = ("pulumi:providers:kubernetes", "cluster")
GITHUB = ("pulumi:providers:github", "github")
EXPECTED_PROVIDER = {
    "kubernetes:core/v1:Namespace": KUBERNETES,
    "kubernetes:core/v1:ServiceAccount": KUBERNETES,
    "kubernetes:core/v1:Pod": KUBERNETES,
    "github:index/repository:Repository": GITHUB,
    "github:index/repositoryFile:RepositoryFile": GITHUB,
    "tls:index/privateKey:PrivateKey": None,
    "command:remote:Command": None,
    "aws:iam/openIdConnectProvider:OpenIdConnectProvider": None,
    "aws:iam/role:Role": None,
    "aws:iam/rolePolicy:RolePolicy": None,
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": None,
}


def providers_used(recorder) -> dict[str, set]:
    used: dict[str, set] = {}
    for reg in recorder.registrations:
        if not reg.custom or reg.type.startswith("pulumi:providers:"):
            continue
        provider = recorder.provider_of(reg)
        used.setdefault(reg.type, set()).add(None if provider is None else (provider.type, provider.name))
    return used


@pytest.mark.parametrize("config", [DEV, EVERYTHING], ids=["example-stack", "every-option"])
def test_every_resource_goes_through_its_provider(pulumi_mocks, config):
    pulumi_mocks.run(lambda: run_program(config))
    used = providers_used(pulumi_mocks)
    unknown = set(used) - set(EXPECTED_PROVIDER)
    assert not unknown, f"resource types with no provider rule here: {unknown}; add them"
    for type_, providers in used.items():
        assert providers == {EXPECTED_PROVIDER[type_]}, f"{type_} registered with {providers}"


def test_every_option_really_creates_every_type(pulumi_mocks):
    """Guard against a vacuous pass: the option-rich stack creates every type listed above."""
    pulumi_mocks.run(lambda: run_program(EVERYTHING))
    assert set(providers_used(pulumi_mocks)) == set(EXPECTED_PROVIDER)


def test_explicit_providers_are_configured(pulumi_mocks):
    """The explicit providers carry what makes them explicit: the owner, the cluster's kubeconfig."""
    pulumi_mocks.run(lambda: run_program(DEV))
    github = pulumi_mocks.one("pulumi:providers:github")
    assert github.name == "github" and github.inputs["owner"] == "example-org"
    kubernetes = pulumi_mocks.one("pulumi:providers:kubernetes")
    assert kubernetes.name == "cluster" and kubernetes.inputs.get("kubeconfig")
    # The kubeconfig is the one the host command reads back, not the default one.
    kubeconfig_command = pulumi_mocks.by_name("cluster-kubeconfig")
    assert kubeconfig_command.urn in pulumi_mocks.all_dependencies(kubernetes)


def test_an_invoke_the_mocks_do_not_know_fails(pulumi_mocks):
    """An unknown data source must not quietly answer {} (the test would pass on nothing)."""
    with pytest.raises(Exception) as raised:
        pulumi_mocks.run(lambda: {"account": aws.get_caller_identity_output().account_id})
    assert "getCallerIdentity" in str(raised.value) or isinstance(raised.value, UnknownInvoke)


def test_region_comes_from_the_mocked_invoke_when_not_configured(pulumi_mocks):
    config = {k: v for k, v in DEV.items() if k != "aws:region"}
    pulumi_mocks.run(lambda: run_program(config))
    pod = pulumi_mocks.one("kubernetes:core/v1:Pod")
    env = {e["name"]: e.get("value") for e in pod.inputs["spec"]["containers"][0]["env"]}
    assert env["AWS_REGION"] == MOCK_REGION


def test_providers_are_recorded_for_components_too(pulumi_mocks):
    """The issuer component passes the GitHub provider to its children via its providers map."""
    pulumi_mocks.run(lambda: run_program(DEV))
    issuer = pulumi_mocks.one("irsa:issuer:OidcIssuer")
    assert set(issuer.providers) == {"github"}
