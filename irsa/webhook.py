"""The amazon-eks-pod-identity-webhook, as data: its flags, its objects' specs, its rules.

Pure: plain dicts in the Kubernetes API's JSON shape (camelCase), which
pulumi-kubernetes accepts as resource inputs and ``kubernetes-validate`` checks
against the OpenAPI schema. ``irsa.components.webhook`` turns them into resources.

Upstream facts this module relies on (aws/amazon-eks-pod-identity-webhook at
tag v0.6.17, commit c1be3015c7e6):

- ``main.go``: the flags below; ``/healthz`` is served on the TLS port, metrics
  (``/metrics``, plain HTTP) on ``--metrics-port``; with ``--in-cluster=false``
  the certificate files are watched and reloaded (controller-runtime certwatcher).
- ``pkg/cache/cache.go``: a cluster-wide ServiceAccount informer (list, watch)
  and, with a lookup grace period, direct GETs: that is all it reads.
- ``pkg/handler/handler.go``: answers an ``admission.k8s.io/v1beta1``
  AdmissionReview without ``apiVersion``/``kind``. kube-apiserver checks the
  response's group/version/kind only for v1 (``k8s.io/apiserver/pkg/admission/
  plugin/webhook/request/admissionreview.go``, ``VerifyAdmissionResponse``), so
  the webhook must be offered v1beta1: see ``ADMISSION_REVIEW_VERSIONS``.
- ``deploy/mutatingwebhook.yaml``: the skip label ``SKIP_LABEL``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

# The released tag pinned by default (2026-05-18), on the registry upstream's
# build workflow pushes to (.github/workflows/build.yaml: REPO=public.ecr.aws/eks/…, TAG=<tag>).
IMAGE_REPOSITORY = "public.ecr.aws/eks/amazon-eks-pod-identity-webhook"
IMAGE_TAG = "v0.6.17"
DEFAULT_IMAGE = f"{IMAGE_REPOSITORY}:{IMAGE_TAG}"

# EKS's annotation domain: charts and docs written for EKS use it, and so do
# the ServiceAccounts this project annotates (irsa.components.workload).
ANNOTATION_PREFIX = "eks.amazonaws.com"
ROLE_ARN_ANNOTATION = f"{ANNOTATION_PREFIX}/role-arn"
# Upstream's MutatingWebhookConfiguration skips pods carrying this label (any value).
SKIP_LABEL = f"{ANNOTATION_PREFIX}/skip-pod-identity-webhook"
SKIP_CONTAINERS_ANNOTATION = f"{ANNOTATION_PREFIX}/skip-containers"
# Where the webhook mounts the token (--token-mount-path default) and the file name.
TOKEN_DIRECTORY = "/var/run/secrets/eks.amazonaws.com/serviceaccount"
TOKEN_FILE = "token"
TOKEN_VOLUME = "aws-iam-token"

NAMESPACE = "irsa-webhook"
NAME = "pod-identity-webhook"
SECRET_NAME = f"{NAME}-tls"
# Cluster-scoped names carry the project's prefix.
CLUSTER_NAME = f"irsa-{NAME}"
# The webhook's own name inside the configuration: the one upstream's manifests
# use, so API server errors ("failed calling webhook …") read as in upstream's docs.
WEBHOOK_NAME = "pod-identity-webhook.amazonaws.com"
# Only the webhook's own namespace is left out: its pods must start while it is
# down. kube-system is mutated, as on EKS, where the load balancer controller,
# the CSI drivers and cluster-autoscaler run there with IRSA; failurePolicy
# Ignore (the default) keeps the cluster's own pods from waiting on the webhook.
NAMESPACES_NOT_MUTATED = (NAMESPACE,)

PORT = 8443  # unprivileged, so the container needs no NET_BIND_SERVICE
SERVICE_PORT = 443
METRICS_PORT = 9999
HEALTH_PATH = "/healthz"
MUTATE_PATH = "/mutate"
CERT_DIRECTORY = "/etc/webhook/certs"

REPLICAS = 2
PRIORITY_CLASS = "system-cluster-critical"
# Pods of that class the quota lets this namespace run: two replicas plus a rolling update's surge.
PRIORITY_POD_QUOTA = 4
# Run as nobody; the image's user is not known to be non-root.
RUN_AS = 65534
REQUESTS = {"cpu": "25m", "memory": "64Mi"}
LIMITS = {"memory": "256Mi"}  # no CPU limit: throttling an admission webhook adds latency to every pod

FAILURE_POLICIES = ("Ignore", "Fail")
DEFAULT_FAILURE_POLICY = "Ignore"
# The API server gives up on the webhook after this long (default 10 s), then
# applies failurePolicy.
TIMEOUT_SECONDS = 3
# A pod whose ServiceAccount is not yet in the webhook's cache (created moments
# before the pod) is looked up directly for this long before it goes unmutated.
SERVICE_ACCOUNT_LOOKUP_GRACE = "1s"
# See the module docstring: v0.6.17 answers v1beta1 correctly, v1 not at all.
ADMISSION_REVIEW_VERSIONS = ("v1beta1",)

# Serving certificate: the CA lives ten years, the serving certificate one;
# both are renewed by `pulumi up` within their last 30 days (early_renewal_hours).
CA_VALIDITY_HOURS = 10 * 365 * 24
SERVING_VALIDITY_HOURS = 365 * 24
EARLY_RENEWAL_HOURS = 30 * 24
CA_USES = ("cert_signing", "crl_signing", "digital_signature")
SERVING_USES = ("digital_signature", "key_encipherment", "server_auth")

LABELS = {"app.kubernetes.io/name": NAME, "app.kubernetes.io/managed-by": "irsa"}
SELECTOR = {"app.kubernetes.io/name": NAME}
# The pod template carries the serving certificate's digest, so a new
# certificate rolls the pods (the webhook would also reload the files itself).
CERT_DIGEST_ANNOTATION = "irsa/serving-cert-sha256"

# An image reference with a tag or a digest: [registry[:port]/]path[:tag][@sha256:…]
_IMAGE = re.compile(
    r"^(?:[a-zA-Z0-9.-]+(?::[0-9]+)?/)?[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
    r"(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*"
    r"(?::(?P<tag>[\w][\w.-]{0,127}))?(?:@(?P<digest>sha256:[0-9a-f]{64}))?$"
)


@dataclass(frozen=True)
class WebhookConfig:
    """What the webhook's flags are made of: the stack's token settings and region."""

    audience: str
    token_expiration_seconds: int
    region: str
    sts_regional_endpoint: bool
    image: str = DEFAULT_IMAGE
    failure_policy: str = DEFAULT_FAILURE_POLICY


def image_problem(image: str) -> str | None:
    """Why an image reference is unusable here (no tag or digest, malformed), or None."""
    match = _IMAGE.match(image)
    if not match:
        return "is not an image reference (REGISTRY/PATH:TAG or REGISTRY/PATH@sha256:DIGEST)"
    if not match.group("tag") and not match.group("digest"):
        return "must name a tag or a digest, so every node runs the same build"
    if match.group("tag") == "latest" and not match.group("digest"):
        return "must not be :latest, so every node runs the same build"
    return None


def service_dns_names(service: str = NAME, namespace: str = NAMESPACE) -> list[str]:
    """Every name the API server may use for the Service; the serving certificate covers all."""
    return [service, f"{service}.{namespace}", f"{service}.{namespace}.svc",
            f"{service}.{namespace}.svc.cluster.local"]


def flags(config: WebhookConfig) -> list[str]:
    """The webhook's command line: file-based TLS, and token settings from the stack."""
    return [
        "/webhook",
        # Certificates from files (the CSR-based in-cluster mode is deprecated upstream).
        "--in-cluster=false",
        f"--tls-cert={CERT_DIRECTORY}/tls.crt",
        f"--tls-key={CERT_DIRECTORY}/tls.key",
        f"--port={PORT}",
        f"--metrics-port={METRICS_PORT}",
        f"--annotation-prefix={ANNOTATION_PREFIX}",
        f"--token-audience={config.audience}",
        f"--token-expiration={config.token_expiration_seconds}",
        f"--aws-default-region={config.region}",
        f"--sts-regional-endpoint={'true' if config.sts_regional_endpoint else 'false'}",
        f"--service-account-lookup-grace-period={SERVICE_ACCOUNT_LOOKUP_GRACE}",
    ]


def mutates_namespace(namespace: str) -> bool:
    """Whether the webhook is called for pods in this namespace."""
    return namespace not in NAMESPACES_NOT_MUTATED


def namespace_labels() -> dict[str, str]:
    """The webhook's namespace enforces the restricted Pod Security Standard on its own pods."""
    return {**LABELS, "pod-security.kubernetes.io/enforce": "restricted"}


def cluster_role_rules() -> list[dict[str, Any]]:
    """Least privilege: ServiceAccounts, read-only (informer list/watch, direct get)."""
    return [{"apiGroups": [""], "resources": ["serviceaccounts"], "verbs": ["get", "list", "watch"]}]


def priority_quota_spec() -> dict[str, Any]:
    """Lets this namespace run system-cluster-critical pods where an admin limits them by default.

    Since Kubernetes 1.17 (kubernetes/kubernetes#76310) the critical classes may
    be used in any namespace, unless the ResourceQuota admission plugin lists
    them in ``limitedResources``; then a namespace needs a quota covering the
    class (kubernetes.io/docs/concepts/policy/resource-quotas/, "Limit Priority
    Class consumption by default"). This quota is that, and harmless otherwise.
    """
    return {
        "hard": {"pods": str(PRIORITY_POD_QUOTA)},
        "scopeSelector": {"matchExpressions": [
            {"scopeName": "PriorityClass", "operator": "In", "values": [PRIORITY_CLASS]}]},
    }


def pod_template_spec(config: WebhookConfig, service_account: str = NAME) -> dict[str, Any]:
    """The webhook's pods: restricted security context, probes, requests, critical priority."""
    probe = {"httpGet": {"path": HEALTH_PATH, "port": "https", "scheme": "HTTPS"}}
    return {
        "serviceAccountName": service_account,
        "priorityClassName": PRIORITY_CLASS,
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": RUN_AS,
            "runAsGroup": RUN_AS,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        # Spread the two replicas over nodes when there are several.
        "affinity": {"podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [{
            "weight": 100,
            "podAffinityTerm": {"topologyKey": "kubernetes.io/hostname",
                                "labelSelector": {"matchLabels": dict(SELECTOR)}},
        }]}},
        "containers": [{
            "name": NAME,
            "image": config.image,
            "imagePullPolicy": "IfNotPresent",
            # `command` replaces the image's go-runner entrypoint, as upstream's deploy/ does.
            "command": flags(config),
            "ports": [{"name": "https", "containerPort": PORT, "protocol": "TCP"},
                      {"name": "metrics", "containerPort": METRICS_PORT, "protocol": "TCP"}],
            "readinessProbe": {**probe, "periodSeconds": 5, "failureThreshold": 2},
            "livenessProbe": {**probe, "periodSeconds": 10, "failureThreshold": 6},
            "resources": {"requests": dict(REQUESTS), "limits": dict(LIMITS)},
            "securityContext": {
                "allowPrivilegeEscalation": False,
                "readOnlyRootFilesystem": True,
                "capabilities": {"drop": ["ALL"]},
            },
            "volumeMounts": [{"name": "cert", "mountPath": CERT_DIRECTORY, "readOnly": True}],
        }],
        "volumes": [{"name": "cert", "secret": {"secretName": SECRET_NAME}}],
    }


def deployment_spec(config: WebhookConfig, cert_digest: str) -> dict[str, Any]:
    """Two replicas; a rolling update never takes the last ready one away."""
    return {
        "replicas": REPLICAS,
        "selector": {"matchLabels": dict(SELECTOR)},
        "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}},
        "template": {
            "metadata": {"labels": dict(LABELS), "annotations": {CERT_DIGEST_ANNOTATION: cert_digest}},
            "spec": pod_template_spec(config),
        },
    }


def service_spec() -> dict[str, Any]:
    """The Service the API server calls: 443 → the container's https port."""
    return {
        "selector": dict(SELECTOR),
        "ports": [{"name": "https", "port": SERVICE_PORT, "targetPort": "https", "protocol": "TCP"}],
    }


def disruption_budget_spec() -> dict[str, Any]:
    """Drains and node upgrades keep one webhook pod running."""
    return {"minAvailable": 1, "selector": {"matchLabels": dict(SELECTOR)}}


def mutating_webhook(ca_bundle_b64: str, failure_policy: str = DEFAULT_FAILURE_POLICY) -> dict[str, Any]:
    """The one webhook of the MutatingWebhookConfiguration.

    Pods only, on CREATE (the webhook's patch is for new pods). Every namespace
    but the webhook's own (its pods must start while it is down) is mutated,
    kube-system included, as on EKS; pods labelled with the upstream skip
    label are not. A pod without an annotated ServiceAccount is returned
    unchanged, and with failurePolicy Ignore a webhook that is down holds
    nothing up. ``reinvocationPolicy: IfNeeded``: when a later
    webhook adds a container (a sidecar), this one runs again and gives it the
    credentials too; its patch is idempotent (handler.go skips a volume and
    variables that are already there).
    """
    if failure_policy not in FAILURE_POLICIES:
        raise ValueError(f"failurePolicy must be one of {FAILURE_POLICIES}, got {failure_policy!r}")
    return {
        "name": WEBHOOK_NAME,
        "admissionReviewVersions": list(ADMISSION_REVIEW_VERSIONS),
        "clientConfig": {
            "service": {"name": NAME, "namespace": NAMESPACE, "path": MUTATE_PATH, "port": SERVICE_PORT},
            "caBundle": ca_bundle_b64,
        },
        "rules": [{"operations": ["CREATE"], "apiGroups": [""], "apiVersions": ["v1"],
                   "resources": ["pods"], "scope": "Namespaced"}],
        "failurePolicy": failure_policy,
        "matchPolicy": "Equivalent",
        "namespaceSelector": {"matchExpressions": [{
            "key": "kubernetes.io/metadata.name", "operator": "NotIn",
            "values": list(NAMESPACES_NOT_MUTATED)}]},
        "objectSelector": {"matchExpressions": [{"key": SKIP_LABEL, "operator": "DoesNotExist"}]},
        "sideEffects": "None",
        "timeoutSeconds": TIMEOUT_SECONDS,
        "reinvocationPolicy": "IfNeeded",
    }


def renewal_due(validity_end_time: str, now: datetime, early_hours: int = EARLY_RENEWAL_HOURS) -> bool:
    """Whether a certificate ending at ``validity_end_time`` (RFC 3339) is in its renewal window."""
    end = datetime.fromisoformat(validity_end_time.replace("Z", "+00:00"))
    if end.tzinfo is None:
        end = end.replace(tzinfo=timezone.utc)
    return now >= end - timedelta(hours=early_hours)


# --- the pod the webhook produces (for verify --pod) ---------------------------------------


def skipped_containers(pod: Mapping[str, Any]) -> set[str]:
    """Containers the pod asks the webhook to leave alone (comma-separated annotation)."""
    value = ((pod.get("metadata") or {}).get("annotations") or {}).get(SKIP_CONTAINERS_ANNOTATION, "")
    return {name.strip() for name in value.split(",") if name.strip()}


def containers(pod: Mapping[str, Any]) -> Sequence[Mapping[str, Any]]:
    """Init containers and containers, as the webhook walks them."""
    spec = pod.get("spec") or {}
    return [*(spec.get("initContainers") or []), *(spec.get("containers") or [])]
