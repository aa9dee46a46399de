"""The real __main__.py under Pulumi mocks with the example stack: graph, order, outputs."""

import json

import pulumi
import pytest

from conftest import ROOT, run_program, secret_value, stack_file_config

DEV = stack_file_config(ROOT / "Pulumi.dev.yaml")

COMMAND = "command:remote:Command"
FILE = "github:index/repositoryFile:RepositoryFile"
OIDC = "aws:iam/openIdConnectProvider:OpenIdConnectProvider"
WEBHOOK = "irsa:webhook:PodIdentityWebhook"
# The pod identity webhook's resources (on by default).
WEBHOOK_GRAPH = [
    ("kubernetes:core/v1:Namespace", "webhook-namespace", WEBHOOK),
    ("kubernetes:core/v1:ServiceAccount", "webhook-service-account", WEBHOOK),
    ("kubernetes:rbac.authorization.k8s.io/v1:ClusterRole", "webhook-cluster-role", WEBHOOK),
    ("kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding", "webhook-cluster-role-binding", WEBHOOK),
    ("kubernetes:core/v1:ResourceQuota", "webhook-critical-pods", WEBHOOK),
    ("tls:index/privateKey:PrivateKey", "webhook-ca-key", WEBHOOK),
    ("tls:index/selfSignedCert:SelfSignedCert", "webhook-ca", WEBHOOK),
    ("tls:index/privateKey:PrivateKey", "webhook-serving-key", WEBHOOK),
    ("tls:index/certRequest:CertRequest", "webhook-serving-request", WEBHOOK),
    ("tls:index/locallySignedCert:LocallySignedCert", "webhook-serving-cert", WEBHOOK),
    ("kubernetes:core/v1:Secret", "webhook-tls", WEBHOOK),
    ("kubernetes:apps/v1:Deployment", "webhook-deployment", WEBHOOK),
    ("kubernetes:core/v1:Service", "webhook-service", WEBHOOK),
    ("kubernetes:policy/v1:PodDisruptionBudget", "webhook-disruption-budget", WEBHOOK),
    ("kubernetes:admissionregistration.k8s.io/v1:MutatingWebhookConfiguration", "webhook-configuration",
     WEBHOOK),
]


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
        ("command:local:Command", "served-wait", "irsa:serving:KeysServed"),
        (COMMAND, "cluster-apiserver-accept", "irsa:cluster:ClusterIssuerConfig"),
        (COMMAND, "cluster-apiserver-sign", "irsa:cluster:ClusterIssuerConfig"),
        (COMMAND, "cluster-apiserver-retire", "irsa:cluster:ClusterIssuerConfig"),
        (COMMAND, "cluster-kubeconfig", "irsa:cluster:ClusterIssuerConfig"),
        (OIDC, "oidc-provider", "irsa:aws:OidcProvider"),
        ("aws:iam/role:Role", "default/aws-cli-role", "irsa:aws:ServiceAccountRole"),
        ("aws:iam/rolePolicy:RolePolicy", "default/aws-cli-s3", "irsa:aws:ServiceAccountRole"),
        ("kubernetes:core/v1:ServiceAccount", "default/aws-cli-service-account",
         "irsa:workload:ServiceAccountWorkload"),
        ("kubernetes:core/v1:Pod", "default/aws-cli-test-pod", "irsa:workload:ServiceAccountWorkload"),
        *WEBHOOK_GRAPH,
    ])
    assert r.one("pulumi:providers:kubernetes").name == "cluster"
    assert r.one("pulumi:providers:github").inputs["owner"] == "example-org"


def test_ordering_provider_cluster_and_pod(pulumi_mocks):
    r = run(pulumi_mocks)
    files = r.of_type(FILE)
    assert len(files) == 2
    oidc_provider = r.one(OIDC)
    host_command = r.by_name("cluster-apiserver-accept")
    served = r.by_name("served-wait")
    sign = r.by_name("cluster-apiserver-sign")
    assert depends_on(r, host_command, served), "the host must wait until the issuer serves the keys"
    assert depends_on(r, sign, host_command), "every node accepts before any node signs"
    for f in files:
        assert depends_on(r, served, f), "the wait for the public keys starts after publishing"
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
    assert set(out) == {"issuerUrl", "discoveryUrl", "jwksUri", "oidcProviderArn", "oidcProviderArns",
                        "oidcProviderUrl", "audience", "signingKeyIds", "serviceAccountRoles", "kubeconfig"}
    assert out["oidcProviderArns"] == {"default": out["oidcProviderArn"]}
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


def test_region_from_aws_config_reaches_the_webhook_or_the_test_pod(pulumi_mocks):
    r = run(pulumi_mocks)
    command = r.one("kubernetes:apps/v1:Deployment").inputs["spec"]["template"]["spec"]["containers"][0]["command"]
    assert "--aws-default-region=ap-northeast-1" in command
    assert "env" not in r.one("kubernetes:core/v1:Pod").inputs["spec"]["containers"][0]


def test_without_the_webhook_the_test_pod_gets_region_from_aws_config(pulumi_mocks):
    r = run(pulumi_mocks, {**DEV, "irsa:podIdentityWebhook": "false"})
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
    assert [a.name for a in r.of_type("kubernetes:core/v1:ServiceAccount")] == ["webhook-service-account"]
    assert r.stack_outputs["serviceAccountRoles"].value == {
        "batch/job-*": "arn:aws:iam::123456789012:role/k8s_batch_job-+"}


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


def test_presets_role_options_and_tags_reach_the_resources(pulumi_mocks):
    accounts = [{"namespace": "kube-system", "name": "external-dns",
                 "preset": {"name": "external-dns", "hostedZoneIds": ["Z123"]},
                 "permissionsBoundary": "arn:aws:iam::123456789012:policy/Boundary",
                 "path": "/k8s/", "maxSessionDuration": 7200, "description": "ExternalDNS"}]
    config = {**DEV, "irsa:serviceAccounts": json.dumps(accounts),
              "irsa:tags": json.dumps({"team": "platform", "cost-center": "42"})}
    r = run(pulumi_mocks, config)
    role = r.one("aws:iam/role:Role")
    assert role.inputs["permissionsBoundary"] == "arn:aws:iam::123456789012:policy/Boundary"
    assert (role.inputs["path"], role.inputs["maxSessionDuration"], role.inputs["description"]) == (
        "/k8s/", 7200, "ExternalDNS")
    assert role.inputs["tags"]["team"] == "platform" and role.inputs["tags"]["cost-center"] == "42"
    assert r.one(OIDC).inputs["tags"] == {"team": "platform", "cost-center": "42"}
    (policy,) = r.of_type("aws:iam/rolePolicy:RolePolicy")
    assert policy.inputs["name"] == "preset-external-dns"
    document = json.loads(policy.inputs["policy"])
    # Expected from external-dns's documented policy (docs/tutorials/aws.md), narrowed to the zone.
    assert {"Sid": "ChangeRecordsInZones", "Effect": "Allow",
            "Action": ["route53:ChangeResourceRecordSets", "route53:ListResourceRecordSets"],
            "Resource": ["arn:aws:route53:::hostedzone/Z123"]} in document["Statement"]


def test_without_tags_and_options_the_resources_carry_none(pulumi_mocks):
    r = run(pulumi_mocks)
    role = r.one("aws:iam/role:Role")
    for key in ("permissionsBoundary", "path", "maxSessionDuration"):
        assert key not in role.inputs or role.inputs[key] is None
    assert not r.one(OIDC).inputs.get("tags")


def test_the_role_with_every_option_is_a_valid_iam_create_role_request(pulumi_mocks):
    """The Role's inputs as IAM CreateRole parameters, held to botocore's model of IAM:
    types, lengths and ranges (botocore's validator) and each string's pattern."""
    regex = pytest.importorskip("regex")
    import botocore.session
    from botocore.validate import validate_parameters

    accounts = [{"namespace": "apps", "name": "loki", "preset": {"name": "s3-bucket", "bucket": "logs-x"},
                 "permissionsBoundary": "arn:aws:iam::123456789012:policy/Boundary",
                 "path": "/k8s/apps/", "maxSessionDuration": 43200, "description": "Loki: chunks"}]
    config = {**DEV, "irsa:serviceAccounts": json.dumps(accounts),
              "irsa:tags": json.dumps({"team": "platform", "Kostenstelle": "4711"})}
    role = run(pulumi_mocks, config).one("aws:iam/role:Role").inputs
    params = {"RoleName": role["name"], "Path": role["path"],
              "AssumeRolePolicyDocument": role["assumeRolePolicy"], "Description": role["description"],
              # Numbers cross the mock monitor as protobuf doubles.
              "MaxSessionDuration": int(role["maxSessionDuration"]),
              "PermissionsBoundary": role["permissionsBoundary"],
              "Tags": [{"Key": k, "Value": v} for k, v in role["tags"].items()]}
    shape = botocore.session.get_session().get_service_model("iam").operation_model("CreateRole").input_shape
    validate_parameters(params, shape)  # raises on a type, length or range IAM refuses

    def patterns_hold(value, shape):
        if shape.type_name == "structure":
            for name, member in shape.members.items():
                if name in value:
                    patterns_hold(value[name], member)
        elif shape.type_name == "list":
            for item in value:
                patterns_hold(item, shape.member)
        elif shape.type_name == "string" and "pattern" in shape.metadata:
            assert regex.fullmatch(shape.metadata["pattern"], value), (shape.name, value)

    patterns_hold(params, shape)


def test_the_tags_the_program_sets_itself_are_the_ones_settings_reserve(pulumi_mocks):
    """irsa:tags may not take a key the program sets (and counts them against IAM's 50)."""
    from irsa import settings

    user = {"team": "platform"}
    r = run(pulumi_mocks, {**DEV, "irsa:tags": json.dumps(user)})
    for registration in [r.one("aws:iam/role:Role"), r.one(OIDC)]:
        own = set(registration.inputs.get("tags") or {}) - set(user)
        assert own <= set(settings.PROGRAM_TAG_KEYS), (registration.type, own)
        assert len(registration.inputs["tags"]) <= settings.MAX_TAGS


def test_kubernetes_provider_keeps_its_identity_when_ssh_settings_change(pulumi_mocks):
    """pulumi-kubernetes replaces the provider, and so every object, on a config change
    unless clusterIdentifier is set (provider docs: 'the provider will only be replaced
    when clusterIdentifier changes'); it must not depend on the SSH settings or the host."""
    identifiers = []
    for changes in ({}, {"irsa:sshUser": "admin", "irsa:sshPort": "2222", "irsa:host": "10.0.0.5"}):
        pulumi_mocks.fresh()
        run(pulumi_mocks, {**DEV, **changes})
        identifiers.append(pulumi_mocks.one("pulumi:providers:kubernetes").inputs["clusterIdentifier"])
    assert identifiers == ["irsa/irsa/test", "irsa/irsa/test"]
