"""irsa.webhook called directly: flags, every object's spec, the image rule, renewal, pods (fast).

These are what mutmut's per-test coverage selects for ``irsa/webhook.py``;
tests/test_webhook.py checks the same objects as the Pulumi program makes them.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from irsa import webhook

CONFIG = webhook.WebhookConfig(audience="sts.amazonaws.com", token_expiration_seconds=86400,
                               region="ap-northeast-1", sts_regional_endpoint=True)
LABELS = {"app.kubernetes.io/name": "pod-identity-webhook", "app.kubernetes.io/managed-by": "irsa"}
SELECTOR = {"app.kubernetes.io/name": "pod-identity-webhook"}


def test_config_defaults():
    assert CONFIG.image == "public.ecr.aws/eks/amazon-eks-pod-identity-webhook:v0.6.17"
    assert CONFIG.failure_policy == "Ignore"


def test_flags_exact():
    config = webhook.WebhookConfig(audience="a.example", token_expiration_seconds=3600,
                                   region="eu-west-1", sts_regional_endpoint=False)
    assert webhook.flags(config) == [
        "/webhook",
        "--in-cluster=false",
        "--tls-cert=/etc/webhook/certs/tls.crt",
        "--tls-key=/etc/webhook/certs/tls.key",
        "--port=8443",
        "--metrics-port=9999",
        "--annotation-prefix=eks.amazonaws.com",
        "--token-audience=a.example",
        "--token-expiration=3600",
        "--aws-default-region=eu-west-1",
        "--sts-regional-endpoint=false",
        "--service-account-lookup-grace-period=1s",
    ]
    assert "--sts-regional-endpoint=true" in webhook.flags(CONFIG)


@pytest.mark.parametrize("image", [
    "public.ecr.aws/eks/amazon-eks-pod-identity-webhook:v0.6.17",
    "registry.internal:5000/mirror/webhook@sha256:" + "a" * 64,
    "webhook:v1",
    "localhost/a__b/c-d.e:1.0_rc-1",
    "mirror/webhook:latest@sha256:" + "0" * 64,
    "a/b:" + "t" * 128,
])
def test_usable_images(image):
    assert webhook.image_problem(image) is None


@pytest.mark.parametrize("image, problem", [
    ("public.ecr.aws/eks/amazon-eks-pod-identity-webhook",
     "must name a tag or a digest, so every node runs the same build"),
    ("mirror/webhook:latest", "must not be :latest, so every node runs the same build"),
    ("Not An Image:v1", "is not an image reference (REGISTRY/PATH:TAG or REGISTRY/PATH@sha256:DIGEST)"),
    ("a/B:v1", "is not an image reference (REGISTRY/PATH:TAG or REGISTRY/PATH@sha256:DIGEST)"),
    ("a/b:" + "t" * 129, "is not an image reference (REGISTRY/PATH:TAG or REGISTRY/PATH@sha256:DIGEST)"),
    ("a/b@sha256:" + "a" * 63, "is not an image reference (REGISTRY/PATH:TAG or REGISTRY/PATH@sha256:DIGEST)"),
    ("a/b:.v1", "is not an image reference (REGISTRY/PATH:TAG or REGISTRY/PATH@sha256:DIGEST)"),
    ("a/b:v1 ", "is not an image reference (REGISTRY/PATH:TAG or REGISTRY/PATH@sha256:DIGEST)"),
    ("", "is not an image reference (REGISTRY/PATH:TAG or REGISTRY/PATH@sha256:DIGEST)"),
])
def test_unusable_images(image, problem):
    assert webhook.image_problem(image) == problem


def test_service_dns_names():
    assert webhook.service_dns_names() == [
        "pod-identity-webhook", "pod-identity-webhook.irsa-webhook", "pod-identity-webhook.irsa-webhook.svc",
        "pod-identity-webhook.irsa-webhook.svc.cluster.local"]
    assert webhook.service_dns_names("s", "n") == ["s", "s.n", "s.n.svc", "s.n.svc.cluster.local"]


def test_only_the_webhooks_own_namespace_is_not_mutated():
    assert webhook.mutates_namespace("default") is True
    assert webhook.mutates_namespace("kube-system") is True
    assert webhook.mutates_namespace("irsa-webhook") is False


def test_namespace_labels():
    assert webhook.namespace_labels() == {**LABELS, "pod-security.kubernetes.io/enforce": "restricted"}


def test_cluster_role_rules():
    assert webhook.cluster_role_rules() == [
        {"apiGroups": [""], "resources": ["serviceaccounts"], "verbs": ["get", "list", "watch"]}]


def test_priority_quota_spec():
    assert webhook.priority_quota_spec() == {
        "hard": {"pods": "4"},
        "scopeSelector": {"matchExpressions": [
            {"scopeName": "PriorityClass", "operator": "In", "values": ["system-cluster-critical"]}]},
    }


def expected_pod(image: str, service_account: str = "pod-identity-webhook") -> dict:
    probe = {"httpGet": {"path": "/healthz", "port": "https", "scheme": "HTTPS"}}
    return {
        "serviceAccountName": service_account,
        "priorityClassName": "system-cluster-critical",
        "securityContext": {"runAsNonRoot": True, "runAsUser": 65534, "runAsGroup": 65534,
                            "seccompProfile": {"type": "RuntimeDefault"}},
        "affinity": {"podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [{
            "weight": 100,
            "podAffinityTerm": {"topologyKey": "kubernetes.io/hostname",
                                "labelSelector": {"matchLabels": SELECTOR}},
        }]}},
        "containers": [{
            "name": "pod-identity-webhook",
            "image": image,
            "imagePullPolicy": "IfNotPresent",
            "command": webhook.flags(CONFIG),
            "ports": [{"name": "https", "containerPort": 8443, "protocol": "TCP"},
                      {"name": "metrics", "containerPort": 9999, "protocol": "TCP"}],
            "readinessProbe": {**probe, "periodSeconds": 5, "failureThreshold": 2},
            "livenessProbe": {**probe, "periodSeconds": 10, "failureThreshold": 6},
            "resources": {"requests": {"cpu": "25m", "memory": "64Mi"}, "limits": {"memory": "256Mi"}},
            "securityContext": {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                                "capabilities": {"drop": ["ALL"]}},
            "volumeMounts": [{"name": "cert", "mountPath": "/etc/webhook/certs", "readOnly": True}],
        }],
        "volumes": [{"name": "cert", "secret": {"secretName": "pod-identity-webhook-tls"}}],
    }


def test_pod_template_spec_exact():
    assert webhook.pod_template_spec(CONFIG) == expected_pod(CONFIG.image)
    assert webhook.pod_template_spec(CONFIG, service_account="other") == expected_pod(CONFIG.image, "other")


def test_deployment_spec_exact():
    mirrored = webhook.WebhookConfig(audience="sts.amazonaws.com", token_expiration_seconds=86400,
                                     region="ap-northeast-1", sts_regional_endpoint=True, image="m/w:v1")
    assert webhook.deployment_spec(mirrored, "d1g3st") == {
        "replicas": 2,
        "selector": {"matchLabels": SELECTOR},
        "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}},
        "template": {
            "metadata": {"labels": LABELS, "annotations": {"irsa/serving-cert-sha256": "d1g3st"}},
            "spec": expected_pod("m/w:v1"),
        },
    }


def test_specs_hand_out_copies_of_the_shared_labels():
    spec = webhook.deployment_spec(CONFIG, "x")
    spec["selector"]["matchLabels"]["extra"] = "1"
    spec["template"]["metadata"]["labels"]["extra"] = "1"
    spec["template"]["spec"]["containers"][0]["resources"]["requests"]["cpu"] = "9"
    webhook.service_spec()["selector"]["extra"] = "1"
    webhook.disruption_budget_spec()["selector"]["matchLabels"]["extra"] = "1"
    assert webhook.SELECTOR == SELECTOR and webhook.LABELS == LABELS
    assert webhook.REQUESTS == {"cpu": "25m", "memory": "64Mi"}


def test_service_spec():
    assert webhook.service_spec() == {
        "selector": SELECTOR,
        "ports": [{"name": "https", "port": 443, "targetPort": "https", "protocol": "TCP"}],
    }


def test_disruption_budget_spec():
    assert webhook.disruption_budget_spec() == {"minAvailable": 1, "selector": {"matchLabels": SELECTOR}}


def expected_hook(policy: str) -> dict:
    return {
        "name": "pod-identity-webhook.amazonaws.com",
        "admissionReviewVersions": ["v1beta1"],
        "clientConfig": {
            "service": {"name": "pod-identity-webhook", "namespace": "irsa-webhook", "path": "/mutate",
                        "port": 443},
            "caBundle": "Q0E=",
        },
        "rules": [{"operations": ["CREATE"], "apiGroups": [""], "apiVersions": ["v1"],
                   "resources": ["pods"], "scope": "Namespaced"}],
        "failurePolicy": policy,
        "matchPolicy": "Equivalent",
        "namespaceSelector": {"matchExpressions": [{
            "key": "kubernetes.io/metadata.name", "operator": "NotIn", "values": ["irsa-webhook"]}]},
        "objectSelector": {"matchExpressions": [{
            "key": "eks.amazonaws.com/skip-pod-identity-webhook", "operator": "DoesNotExist"}]},
        "sideEffects": "None",
        "timeoutSeconds": 3,
        "reinvocationPolicy": "IfNeeded",
    }


def test_mutating_webhook_exact():
    assert webhook.mutating_webhook("Q0E=") == expected_hook("Ignore")
    assert webhook.mutating_webhook("Q0E=", "Fail") == expected_hook("Fail")


@pytest.mark.parametrize("policy", ["ignore", "fail", "", "Ignore ", "XXIgnoreXX"])
def test_mutating_webhook_refuses_other_failure_policies(policy):
    with pytest.raises(ValueError) as raised:
        webhook.mutating_webhook("Q0E=", policy)
    assert str(raised.value) == f"failurePolicy must be one of ('Ignore', 'Fail'), got {policy!r}"


NOW = datetime(2026, 11, 29, tzinfo=timezone.utc)


def test_renewal_starts_exactly_30_days_before_the_end():
    assert webhook.renewal_due("2026-12-29T00:00:00Z", NOW)
    assert not webhook.renewal_due("2026-12-29T00:00:01Z", NOW)
    assert webhook.renewal_due("2026-12-29T00:00:00+00:00", NOW)
    assert webhook.renewal_due("2026-11-01T00:00:00Z", NOW)


def test_renewal_window_of_other_widths_and_zones():
    assert webhook.renewal_due("2026-11-30T00:00:00Z", NOW, early_hours=24)
    assert not webhook.renewal_due("2026-11-30T00:00:01Z", NOW, early_hours=24)
    # A time without a zone is UTC; one with a zone is taken as written.
    assert webhook.renewal_due("2026-12-29T00:00:00", NOW)
    assert not webhook.renewal_due("2026-12-29T00:00:01", NOW)
    assert not webhook.renewal_due("2026-12-29T00:00:00-01:00", NOW)
    assert webhook.renewal_due("2026-12-29T00:00:00+01:00", NOW)
    assert webhook.EARLY_RENEWAL_HOURS == 720
    assert webhook.CA_VALIDITY_HOURS == 87600 and webhook.SERVING_VALIDITY_HOURS == 8760
    assert NOW + timedelta(hours=webhook.EARLY_RENEWAL_HOURS) == datetime(2026, 12, 29, tzinfo=timezone.utc)


@pytest.mark.parametrize("annotations, skipped", [
    ({"eks.amazonaws.com/skip-containers": "a, b ,,c"}, {"a", "b", "c"}),
    ({"eks.amazonaws.com/skip-containers": " "}, set()),
    ({"eks.amazonaws.com/skip-containers": "sidecar"}, {"sidecar"}),
    ({"other": "a"}, set()),
    (None, set()),
])
def test_skipped_containers(annotations, skipped):
    assert webhook.skipped_containers({"metadata": {"annotations": annotations}}) == skipped


def test_skipped_containers_of_a_pod_without_metadata():
    assert webhook.skipped_containers({}) == set()
    assert webhook.skipped_containers({"metadata": None}) == set()


def test_containers_are_init_containers_then_containers():
    pod = {"spec": {"initContainers": [{"name": "i"}], "containers": [{"name": "a"}, {"name": "b"}]}}
    assert [c["name"] for c in webhook.containers(pod)] == ["i", "a", "b"]
    assert webhook.containers({"spec": {"containers": [{"name": "a"}], "initContainers": None}}) == [{"name": "a"}]
    assert webhook.containers({"spec": {"initContainers": [{"name": "i"}]}}) == [{"name": "i"}]
    assert webhook.containers({}) == []
    assert webhook.containers({"spec": None}) == []
