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
    "irsa:githubBranch": "oidc",  # a created repository gets this branch made
    "irsa:serviceAccounts": json.dumps([
        {"namespace": "velero", "name": "velero", "existing": True, "s3BucketPrefix": "k8s-velero"},
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
# The issuer in buckets: CloudFront with a custom domain, moving away from S3.
BUCKETS = DEV | {"irsa:issuerHost": "cloudfront", "irsa:issuerDomain": "oidc.example.com",
                 "irsa:previousIssuerHosts": json.dumps(["s3"])}

KUBERNETES = ("pulumi:providers:kubernetes", "cluster")
GITHUB = ("pulumi:providers:github", "github")
EXPECTED_PROVIDER = {
    "kubernetes:core/v1:Namespace": KUBERNETES,
    "kubernetes:core/v1:ServiceAccount": KUBERNETES,
    "kubernetes:core/v1:ServiceAccountPatch": KUBERNETES,
    "kubernetes:core/v1:Pod": KUBERNETES,
    # The pod identity webhook.
    "kubernetes:core/v1:Secret": KUBERNETES,
    "kubernetes:core/v1:Service": KUBERNETES,
    "kubernetes:core/v1:ResourceQuota": KUBERNETES,
    "kubernetes:apps/v1:Deployment": KUBERNETES,
    "kubernetes:policy/v1:PodDisruptionBudget": KUBERNETES,
    "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole": KUBERNETES,
    "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding": KUBERNETES,
    "kubernetes:admissionregistration.k8s.io/v1:MutatingWebhookConfiguration": KUBERNETES,
    "tls:index/selfSignedCert:SelfSignedCert": None,
    "tls:index/certRequest:CertRequest": None,
    "tls:index/locallySignedCert:LocallySignedCert": None,
    "github:index/repository:Repository": GITHUB,
    "github:index/repositoryFile:RepositoryFile": GITHUB,
    "github:index/branch:Branch": GITHUB,
    "tls:index/privateKey:PrivateKey": None,
    "command:remote:Command": None,
    "command:local:Command": None,
    # The issuer in S3 or behind CloudFront: the stack's own AWS provider.
    "aws:s3/bucket:Bucket": None,
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls": None,
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": None,
    "aws:s3/bucketVersioning:BucketVersioning": None,
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": None,
    "aws:s3/bucketPolicy:BucketPolicy": None,
    "aws:s3/bucketObjectv2:BucketObjectv2": None,
    "aws:cloudfront/originAccessControl:OriginAccessControl": None,
    "aws:cloudfront/distribution:Distribution": None,
    "aws:acm/certificate:Certificate": None,
    "aws:acm/certificateValidation:CertificateValidation": None,
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


@pytest.mark.parametrize("config", [DEV, EVERYTHING, BUCKETS], ids=["example-stack", "every-option", "buckets"])
def test_every_resource_goes_through_its_provider(pulumi_mocks, config):
    pulumi_mocks.run(lambda: run_program(config))
    used = providers_used(pulumi_mocks)
    unknown = set(used) - set(EXPECTED_PROVIDER)
    assert not unknown, f"resource types with no provider rule here: {unknown}; add them"
    for type_, providers in used.items():
        assert providers == {EXPECTED_PROVIDER[type_]}, f"{type_} registered with {providers}"


def test_every_option_really_creates_every_type(pulumi_mocks):
    """Guard against a vacuous pass: the option-rich stacks create every type listed above."""
    pulumi_mocks.run(lambda: run_program(EVERYTHING))
    created = set(providers_used(pulumi_mocks))
    pulumi_mocks.fresh()
    pulumi_mocks.run(lambda: run_program(BUCKETS))
    assert created | set(providers_used(pulumi_mocks)) == set(EXPECTED_PROVIDER)


def test_explicit_providers_are_configured(pulumi_mocks):
    """The explicit providers carry what makes them explicit: the owner, the cluster's kubeconfig."""
    pulumi_mocks.run(lambda: run_program(DEV))
    github = pulumi_mocks.one("pulumi:providers:github")
    assert github.name == "github" and github.inputs["owner"] == "example-org"
    kubernetes = pulumi_mocks.one("pulumi:providers:kubernetes")
    assert kubernetes.name == "cluster" and kubernetes.inputs.get("kubeconfig")
    # The kubeconfig is the one read from the host (an invoke) once its API server is
    # configured: the provider, and every Kubernetes object with it, waits for the last phase.
    assert any(token == "command:local:run" for token, _ in pulumi_mocks.invokes)
    assert pulumi_mocks.by_name("cluster-apiserver-retire").urn in pulumi_mocks.all_dependencies(kubernetes)


def test_an_invoke_the_mocks_do_not_know_fails(pulumi_mocks):
    """An unknown data source must not quietly answer {} (the test would pass on nothing)."""
    with pytest.raises(Exception) as raised:
        pulumi_mocks.run(lambda: {"vpc": aws.ec2.get_vpc_output(default=True).id})
    assert "getVpc" in str(raised.value) or isinstance(raised.value, UnknownInvoke)


def test_region_comes_from_the_mocked_invoke_when_not_configured(pulumi_mocks):
    config = {k: v for k, v in DEV.items() if k != "aws:region"}
    pulumi_mocks.run(lambda: run_program(config))
    # The webhook gives mutated pods the region it was started with.
    deployment = pulumi_mocks.one("kubernetes:apps/v1:Deployment")
    assert f"--aws-default-region={MOCK_REGION}" in deployment.inputs["spec"]["template"]["spec"]["containers"][0]["command"]


def test_providers_are_recorded_for_components_too(pulumi_mocks):
    """The issuer component passes the GitHub provider to its children via its providers map."""
    pulumi_mocks.run(lambda: run_program(DEV))
    issuer = pulumi_mocks.one("irsa:issuer:OidcIssuer")
    assert set(issuer.providers) == {"github"}
