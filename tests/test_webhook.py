"""The pod identity webhook, from the real __main__.py under mocks: every object against the
Kubernetes OpenAPI schema, the serving certificate against caBundle, flags, rules, order."""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import datetime, timedelta, timezone

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509 import verification
from cryptography.x509.oid import ExtendedKeyUsageOID
from support import real_rules
from support.recorded import plain
from test_program import DEV, STACK_PREFIX, depends_on, run

from irsa import settings as settings_module
from irsa import webhook

CONFIGURATION = "kubernetes:admissionregistration.k8s.io/v1:MutatingWebhookConfiguration"
DEPLOYMENT = "kubernetes:apps/v1:Deployment"
SECRET = "kubernetes:core/v1:Secret"
SERVICE_DNS_NAMES = [  # written out, not computed by the code under test
    "pod-identity-webhook",
    "pod-identity-webhook.irsa-webhook",
    "pod-identity-webhook.irsa-webhook.svc",
    "pod-identity-webhook.irsa-webhook.svc.cluster.local",
]


@pytest.fixture(scope="module")
def program():
    """The example stack's program, run once for the tests that only read its graph."""
    from pulumi.runtime import config as runtime_config

    from conftest import Recorder, install_mocks

    recorder = Recorder()
    install_mocks(recorder, "irsa")
    try:
        yield run(recorder)
    finally:
        runtime_config.set_all_config({}, [])


def webhook_objects(recorder):
    """The Kubernetes objects the webhook component registered, as manifests."""
    parent = recorder.one("irsa:webhook:PodIdentityWebhook").urn
    return {r.name: plain(r.inputs) for r in recorder.registrations
            if r.parent == parent and r.type.startswith("kubernetes:")}


def container(recorder):
    return recorder.one(DEPLOYMENT).inputs["spec"]["template"]["spec"]["containers"][0]


# --- schema ---------------------------------------------------------------------------------


def test_every_webhook_object_is_valid_for_every_supported_kubernetes(program):
    parent = program.one("irsa:webhook:PodIdentityWebhook").urn
    objects = [r for r in program.registrations if r.parent == parent and r.type.startswith("kubernetes:")]
    assert len(objects) == 10, sorted(r.name for r in objects)
    assert real_rules.problems_of(objects, real_rules.kubernetes_problems, "kubernetes:") == []


def test_the_schema_check_catches_a_misplaced_field(program):
    deployment = program.by_name("webhook-deployment")
    manifest = plain(deployment.inputs)
    manifest["spec"]["template"]["spec"]["containers"][0]["runAsNonRoot"] = True  # belongs in securityContext
    problems = real_rules.kubernetes_problems(deployment.type, deployment.name, manifest)
    assert any("runAsNonRoot" in p for p in problems), problems


# --- certificate ----------------------------------------------------------------------------


def served_certificate(recorder):
    secret = recorder.one(SECRET)
    data = plain(secret.inputs["stringData"])
    return secret, data["tls.crt"], data["tls.key"]


def test_serving_certificate_verifies_against_ca_bundle_for_every_service_name(program):
    _, cert_pem, _ = served_certificate(program)
    (hook,) = program.one(CONFIGURATION).inputs["webhooks"]
    ca = x509.load_pem_x509_certificate(base64.b64decode(hook["clientConfig"]["caBundle"]))
    leaf = x509.load_pem_x509_certificate(cert_pem.encode())
    store = verification.Store([ca])
    for name in SERVICE_DNS_NAMES:
        verifier = verification.PolicyBuilder().store(store).build_server_verifier(verification.DNSName(name))
        chain = verifier.verify(leaf, [])
        assert chain[-1] == ca
    wrong = verification.PolicyBuilder().store(store).build_server_verifier(
        verification.DNSName("pod-identity-webhook.default.svc"))
    with pytest.raises(verification.VerificationError):
        wrong.verify(leaf, [])


def test_serving_certificate_key_usage_validity_and_key(program):
    _, cert_pem, key_pem = served_certificate(program)
    leaf = x509.load_pem_x509_certificate(cert_pem.encode())
    usage = leaf.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.digital_signature and usage.key_encipherment and not usage.key_cert_sign
    assert list(leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value) == [
        ExtendedKeyUsageOID.SERVER_AUTH]
    assert leaf.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is False
    names = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert sorted(names.get_values_for_type(x509.DNSName)) == sorted(SERVICE_DNS_NAMES)
    now = datetime.now(timezone.utc)
    assert leaf.not_valid_before_utc <= now
    assert timedelta(days=364) < leaf.not_valid_after_utc - now <= timedelta(days=365)
    key = serialization.load_pem_private_key(key_pem.encode(), None)
    assert key.public_key() == leaf.public_key()


def test_ca_can_sign_certificates_and_lives_ten_years(program):
    (hook,) = program.one(CONFIGURATION).inputs["webhooks"]
    ca = x509.load_pem_x509_certificate(base64.b64decode(hook["clientConfig"]["caBundle"]))
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is True
    assert ca.extensions.get_extension_for_class(x509.KeyUsage).value.key_cert_sign
    assert ca.not_valid_after_utc - ca.not_valid_before_utc == timedelta(days=3650)


def test_certificates_are_renewed_in_their_last_30_days(program):
    for name in ("webhook-ca", "webhook-serving-cert"):
        assert program.by_name(name).inputs["earlyRenewalHours"] == 720


def test_key_material_reaches_the_cluster_only_as_a_secret(program):
    secret, _, _ = served_certificate(program)
    from conftest import secret_value

    assert set(secret_value(secret.inputs["stringData"])) == {"tls.crt", "tls.key"}
    assert secret.inputs["type"] == "kubernetes.io/tls"


def test_pods_roll_when_the_certificate_changes(program):
    _, cert_pem, _ = served_certificate(program)
    annotations = program.one(DEPLOYMENT).inputs["spec"]["template"]["metadata"]["annotations"]
    assert annotations == {"irsa/serving-cert-sha256": hashlib.sha256(cert_pem.encode()).hexdigest()}


def test_renewal_window():
    now = datetime(2026, 11, 29, tzinfo=timezone.utc)
    assert not webhook.renewal_due("2026-12-30T00:00:00Z", now)
    assert webhook.renewal_due("2026-12-29T00:00:00Z", now)
    assert webhook.renewal_due("2026-11-01T00:00:00Z", now)


# --- flags, pods, RBAC ------------------------------------------------------------------------


def test_flags_follow_the_stack_settings(pulumi_mocks):
    config = {**DEV, "irsa:audience": "irsa.example.com", "irsa:tokenExpirationSeconds": "3600",
              "irsa:webhookStsRegionalEndpoint": "false"}
    r = run(pulumi_mocks, config)
    assert container(r)["command"] == [
        "/webhook",
        "--in-cluster=false",
        "--tls-cert=/etc/webhook/certs/tls.crt",
        "--tls-key=/etc/webhook/certs/tls.key",
        "--port=8443",
        "--metrics-port=9999",
        "--annotation-prefix=eks.amazonaws.com",
        "--token-audience=irsa.example.com",
        "--token-expiration=3600",
        "--aws-default-region=ap-northeast-1",
        "--sts-regional-endpoint=false",
        "--service-account-lookup-grace-period=1s",
    ]


def test_default_flags_and_image(program):
    command = container(program)["command"]
    assert "--token-audience=sts.amazonaws.com" in command
    assert "--token-expiration=86400" in command
    assert "--sts-regional-endpoint=true" in command
    assert container(program)["image"] == "public.ecr.aws/eks/amazon-eks-pod-identity-webhook:v0.6.17"


def test_image_override_for_mirrors(pulumi_mocks):
    image = "registry.internal:5000/mirror/amazon-eks-pod-identity-webhook@sha256:" + "a" * 64
    r = run(pulumi_mocks, {**DEV, "irsa:webhookImage": image})
    assert container(r)["image"] == image


def test_pods_are_restricted_critical_probed_and_spread(program):
    deployment = program.one(DEPLOYMENT).inputs["spec"]
    pod = deployment["template"]["spec"]
    assert deployment["replicas"] == 2
    assert deployment["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    assert pod["priorityClassName"] == "system-cluster-critical"
    assert pod["securityContext"] == {"runAsNonRoot": True, "runAsUser": 65534, "runAsGroup": 65534,
                                      "seccompProfile": {"type": "RuntimeDefault"}}
    c = pod["containers"][0]
    assert c["securityContext"] == {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                                    "capabilities": {"drop": ["ALL"]}}
    assert set(c["resources"]["requests"]) == {"cpu", "memory"}
    for probe in (c["readinessProbe"], c["livenessProbe"]):
        assert probe["httpGet"] == {"path": "/healthz", "port": "https", "scheme": "HTTPS"}
    assert {p["name"]: p["containerPort"] for p in c["ports"]} == {"https": 8443, "metrics": 9999}
    assert pod["volumes"] == [{"name": "cert", "secret": {"secretName": "pod-identity-webhook-tls"}}]
    namespace = program.by_name("webhook-namespace").inputs["metadata"]
    assert namespace["name"] == "irsa-webhook"
    assert namespace["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"


def test_critical_priority_is_admitted_by_a_quota_and_one_pod_survives_drains(program):
    quota = program.by_name("webhook-critical-pods").inputs["spec"]
    assert quota["scopeSelector"]["matchExpressions"] == [
        {"scopeName": "PriorityClass", "operator": "In", "values": ["system-cluster-critical"]}]
    assert int(quota["hard"]["pods"]) >= 3  # two replicas and a surge pod
    budget = program.one("kubernetes:policy/v1:PodDisruptionBudget").inputs["spec"]
    assert budget["minAvailable"] == 1
    assert budget["selector"]["matchLabels"] == program.one(DEPLOYMENT).inputs["spec"]["selector"]["matchLabels"]


def test_rbac_reads_service_accounts_and_nothing_else(program):
    (rule,) = program.one("kubernetes:rbac.authorization.k8s.io/v1:ClusterRole").inputs["rules"]
    assert rule == {"apiGroups": [""], "resources": ["serviceaccounts"], "verbs": ["get", "list", "watch"]}
    binding = program.one("kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding").inputs
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "pod-identity-webhook",
                                    "namespace": "irsa-webhook"}]
    assert not program.of_type("kubernetes:rbac.authorization.k8s.io/v1:Role")
    pod = program.one(DEPLOYMENT).inputs["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == "pod-identity-webhook"


def test_service_routes_443_to_the_webhook_pods(program):
    spec = program.one("kubernetes:core/v1:Service").inputs["spec"]
    assert spec["ports"] == [{"name": "https", "port": 443, "targetPort": "https", "protocol": "TCP"}]
    labels = program.one(DEPLOYMENT).inputs["spec"]["template"]["metadata"]["labels"]
    assert spec["selector"] and spec["selector"].items() <= labels.items()


# --- the webhook configuration ------------------------------------------------------------------


def test_configuration_rules(program):
    (hook,) = program.one(CONFIGURATION).inputs["webhooks"]
    assert hook["rules"] == [{"operations": ["CREATE"], "apiGroups": [""], "apiVersions": ["v1"],
                              "resources": ["pods"], "scope": "Namespaced"}]
    assert hook["failurePolicy"] == "Ignore"
    assert hook["sideEffects"] == "None"
    assert hook["timeoutSeconds"] <= 5
    assert hook["reinvocationPolicy"] == "IfNeeded"
    # v0.6.17 answers without apiVersion/kind, which kube-apiserver accepts only for v1beta1.
    assert hook["admissionReviewVersions"] == ["v1beta1"]
    assert hook["namespaceSelector"] == {"matchExpressions": [{
        "key": "kubernetes.io/metadata.name", "operator": "NotIn", "values": ["irsa-webhook"]}]}
    assert hook["objectSelector"] == {"matchExpressions": [{
        "key": "eks.amazonaws.com/skip-pod-identity-webhook", "operator": "DoesNotExist"}]}
    assert hook["clientConfig"]["service"] == {"name": "pod-identity-webhook", "namespace": "irsa-webhook",
                                               "path": "/mutate", "port": 443}


def test_fail_warns_that_kube_system_waits_too():
    warnings = settings_module.parse({**DEV, "irsa:webhookFailurePolicy": "Fail"}).warnings
    (warning,) = [w for w in warnings if "webhookFailurePolicy" in w]
    assert "kube-system" in warning and "eks.amazonaws.com/skip-pod-identity-webhook" in warning
    assert not [w for w in settings_module.parse(DEV).warnings if "webhookFailurePolicy" in w]


def test_failure_policy_from_settings(pulumi_mocks):
    r = run(pulumi_mocks, {**DEV, "irsa:webhookFailurePolicy": "Fail"})
    assert r.one(CONFIGURATION).inputs["webhooks"][0]["failurePolicy"] == "Fail"


@pytest.mark.parametrize("key, value, message", [
    ("irsa:webhookFailurePolicy", "ignore", "irsa:webhookFailurePolicy must be Ignore"),
    ("irsa:webhookImage", "public.ecr.aws/eks/amazon-eks-pod-identity-webhook",
     "irsa:webhookImage must name a tag or a digest"),
    ("irsa:webhookImage", "public.ecr.aws/eks/amazon-eks-pod-identity-webhook:latest",
     "irsa:webhookImage must not be :latest"),
    ("irsa:webhookImage", "Not An Image:v1", "irsa:webhookImage is not an image reference"),
])
def test_bad_webhook_settings_are_named(key, value, message):
    with pytest.raises(settings_module.SettingsError) as err:
        settings_module.parse({**DEV, key: value})
    assert any(line.startswith(message) for line in err.value.problems), err.value.problems


# --- order and the test pod ----------------------------------------------------------------------


def test_order_secret_deployment_configuration_test_pod(program):
    configuration = program.one(CONFIGURATION)
    deployment = program.one(DEPLOYMENT)
    pod = program.by_name("default/aws-cli-test-pod")
    assert depends_on(program, deployment, program.one(SECRET))
    assert depends_on(program, configuration, deployment), "register the webhook only once it is ready"
    assert depends_on(program, configuration, program.one("kubernetes:core/v1:Service"))
    assert depends_on(program, pod, configuration), "the test pod must be created by a ready webhook"


def test_with_the_webhook_the_test_pod_names_only_its_service_account(program):
    spec = program.by_name("default/aws-cli-test-pod").inputs["spec"]
    assert spec == {"serviceAccountName": "aws-cli", "restartPolicy": "Never",
                    "containers": [{"name": "aws-cli", "image": "public.ecr.aws/aws-cli/aws-cli",
                                    "command": ["sleep", "infinity"]}]}
    account = program.by_name("default/aws-cli-service-account").inputs["metadata"]
    assert account["annotations"] == {
        "eks.amazonaws.com/role-arn": f"arn:aws:iam::123456789012:role/{STACK_PREFIX}_default_aws-cli"}


def test_without_the_webhook_nothing_of_it_exists_and_the_pod_carries_its_token(pulumi_mocks):
    r = run(pulumi_mocks, {**DEV, "irsa:podIdentityWebhook": "false"})
    assert not [reg for reg in r.registrations if "webhook" in reg.name or "webhook" in reg.type.lower()]
    spec = r.by_name("default/aws-cli-test-pod").inputs["spec"]
    (volume,) = spec["volumes"]
    assert volume["projected"]["sources"][0]["serviceAccountToken"]["audience"] == "sts.amazonaws.com"
    env = {e["name"] for e in spec["containers"][0]["env"]}
    assert {"AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE"} <= env


def selects(selector: dict, labels: dict) -> bool:
    """A Kubernetes label selector, evaluated as the API server does (metav1.LabelSelectorAsSelector):
    every matchLabels pair and every matchExpression must hold; an empty selector selects all."""
    if any(labels.get(k) != v for k, v in (selector.get("matchLabels") or {}).items()):
        return False
    for expression in selector.get("matchExpressions") or []:
        key, operator, values = expression["key"], expression["operator"], expression.get("values") or []
        holds = {"In": key in labels and labels[key] in values,
                 "NotIn": key not in labels or labels[key] not in values,
                 "Exists": key in labels, "DoesNotExist": key not in labels}[operator]
        if not holds:
            return False
    return True


def called_for(hook: dict, namespace: str, pod_labels: dict, operation: str = "CREATE") -> bool:
    """Whether the API server calls this webhook for a pod: rules, then both selectors.
    A namespace's labels are what the API server sets itself (kubernetes.io/metadata.name, 1.21+)."""
    rule_matches = any(operation in r["operations"] and "" in r["apiGroups"] and "pods" in r["resources"]
                       for r in hook["rules"])
    return (rule_matches and selects(hook["namespaceSelector"], {"kubernetes.io/metadata.name": namespace})
            and selects(hook["objectSelector"], pod_labels))


@pytest.mark.parametrize("namespace, labels, called", [
    ("kube-system", {"app.kubernetes.io/name": "aws-load-balancer-controller"}, True),
    ("kube-system", {"k8s-app": "kube-dns"}, True),
    ("default", {}, True),
    ("irsa-webhook", {"app.kubernetes.io/name": "pod-identity-webhook"}, False),
    ("kube-system", {"eks.amazonaws.com/skip-pod-identity-webhook": ""}, False),
    ("default", {"eks.amazonaws.com/skip-pod-identity-webhook": "true"}, False),
])
def test_the_api_server_calls_the_webhook_for_kube_system_pods_like_eks(program, namespace, labels, called):
    (hook,) = program.one(CONFIGURATION).inputs["webhooks"]
    assert called_for(plain(hook), namespace, labels) is called
    assert not called_for(plain(hook), namespace, labels, operation="UPDATE")


def test_selector_evaluation_can_fail():
    # The evaluator above must be able to say no, or the test proves nothing.
    hook = webhook.mutating_webhook("Q0E=")
    hook["namespaceSelector"]["matchExpressions"][0]["values"].append("kube-system")
    assert not called_for(hook, "kube-system", {})
    assert called_for(hook, "default", {})


def test_a_kube_system_test_pod_is_mutated_like_any_other(pulumi_mocks):
    accounts = [{"namespace": "kube-system", "name": "aws-cli", "testPod": True, "existing": True}]
    config = {**DEV, "irsa:serviceAccounts": json.dumps(accounts)}
    assert not any("does not mutate" in w for w in settings_module.parse(config).warnings)
    r = run(pulumi_mocks, config)
    pod = r.by_name("kube-system/aws-cli-test-pod")
    assert "volumes" not in plain(pod.inputs["spec"]), "the webhook gives the token, not the pod spec"
    assert depends_on(r, pod, r.one(CONFIGURATION))


def test_annotation_prefix_matches_the_service_account_annotation():
    from irsa.components import workload

    assert workload.ROLE_ARN_ANNOTATION == webhook.ROLE_ARN_ANNOTATION
    assert workload.TOKEN_DIRECTORY == webhook.TOKEN_DIRECTORY


def test_the_webhooks_namespace_is_not_for_service_accounts():
    accounts = [{"namespace": "irsa-webhook", "name": "app", "createNamespace": True}]
    config = {**DEV, "irsa:serviceAccounts": json.dumps(accounts)}
    with pytest.raises(settings_module.SettingsError) as err:
        settings_module.parse(config)
    assert err.value.problems == [
        "irsa:serviceAccounts[0].namespace irsa-webhook is the pod identity webhook's own namespace, "
        "whose pods it never mutates: use another namespace"]
    settings_module.parse({**config, "irsa:podIdentityWebhook": "false"})  # without the webhook it is free


def test_a_ready_made_certificate_replaces_the_tls_resources(pulumi_mocks):
    """The real-engine tests run without pulumi-tls: the component then serves the given PEMs."""
    from conftest import secret_value

    from irsa.components.webhook import PodIdentityWebhook, PodIdentityWebhookArgs, WebhookCertificate

    given = WebhookCertificate(ca_cert_pem="CA PEM\n", serving_cert_pem="CERT PEM\n", serving_key_pem="KEY PEM\n")

    def make():
        hook = PodIdentityWebhook("webhook", PodIdentityWebhookArgs(
            audience="sts.amazonaws.com", token_expiration_seconds=86400, region="us-east-1", certificate=given))
        return {"ca": hook.ca_cert_pem}

    out = pulumi_mocks.run(make)
    assert out["ca"].value == "CA PEM\n"
    assert not [r for r in pulumi_mocks.registrations if r.type.startswith("tls:")]
    secret = pulumi_mocks.one(SECRET)
    assert secret_value(secret.inputs["stringData"]) == {"tls.crt": "CERT PEM\n", "tls.key": "KEY PEM\n"}
    entry = pulumi_mocks.one(CONFIGURATION).inputs["webhooks"][0]
    assert base64.b64decode(entry["clientConfig"]["caBundle"]).decode() == "CA PEM\n"
