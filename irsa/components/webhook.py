"""The amazon-eks-pod-identity-webhook in the cluster, with its serving certificate.

The objects' shapes are in ``irsa.webhook`` (pure); this module makes them
resources, makes the certificate with pulumi-tls, and orders them: the
MutatingWebhookConfiguration is created only once the Deployment is ready
(pulumi-kubernetes waits for a Deployment's ``Available`` condition and a
Service's ready endpoints before it reports them created), so anything that
waits for ``ready`` gets pods mutated.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone

import pulumi
import pulumi_kubernetes as k8s
import pulumi_tls as tls

from irsa import webhook


@dataclass(frozen=True)
class PodIdentityWebhookArgs:
    """The stack's token settings, region and webhook settings."""

    audience: str
    token_expiration_seconds: int
    region: pulumi.Input[str]
    sts_regional_endpoint: bool = True
    image: str = webhook.DEFAULT_IMAGE
    failure_policy: str = webhook.DEFAULT_FAILURE_POLICY
    # A serving certificate made elsewhere instead of the pulumi-tls one: for the
    # real-engine tests, which run without the tls provider. The program never sets it.
    certificate: WebhookCertificate | None = None


@dataclass(frozen=True)
class WebhookCertificate:
    """PEM texts of a CA and the serving certificate and key it signed for the Service's names."""

    ca_cert_pem: str
    serving_cert_pem: str
    serving_key_pem: str


class PodIdentityWebhook(pulumi.ComponentResource):
    """The upstream pod identity webhook: an annotated ServiceAccount is all a pod needs.

    Objects: its Namespace (restricted Pod Security), ServiceAccount, a
    ClusterRole reading ServiceAccounts and its binding, a ResourceQuota that
    admits its critical priority class, the TLS Secret, a two-replica
    Deployment, its Service and PodDisruptionBudget, and the
    MutatingWebhookConfiguration with the CA in ``caBundle``.

    The certificate: a CA (10 years) signs a serving certificate (1 year) for
    every DNS name of the Service. Both are re-issued by ``pulumi up`` in their
    last 30 days (``early_renewal_hours``); the preview warns when one is due.
    """

    ready: pulumi.Resource
    ca_cert_pem: pulumi.Output[str]

    def __init__(self, name: str, args: PodIdentityWebhookArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("irsa:webhook:PodIdentityWebhook", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        problem = webhook.image_problem(args.image)
        if problem:
            raise ValueError(f"webhook image {args.image!r} {problem}")

        namespace = k8s.core.v1.Namespace(
            f"{name}-namespace",
            metadata={"name": webhook.NAMESPACE, "labels": webhook.namespace_labels()},
            opts=child,
        )
        in_namespace = pulumi.ResourceOptions(parent=self, depends_on=[namespace])

        def meta(object_name: str) -> dict:
            return {"name": object_name, "namespace": namespace.metadata.name, "labels": dict(webhook.LABELS)}

        account = k8s.core.v1.ServiceAccount(f"{name}-service-account", metadata=meta(webhook.NAME),
                                             opts=in_namespace)
        role = k8s.rbac.v1.ClusterRole(
            f"{name}-cluster-role",
            metadata={"name": webhook.CLUSTER_NAME, "labels": dict(webhook.LABELS)},
            rules=webhook.cluster_role_rules(),
            opts=child,
        )
        binding = k8s.rbac.v1.ClusterRoleBinding(
            f"{name}-cluster-role-binding",
            metadata={"name": webhook.CLUSTER_NAME, "labels": dict(webhook.LABELS)},
            role_ref={"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role.metadata.name},
            subjects=[{"kind": "ServiceAccount", "name": account.metadata.name,
                       "namespace": account.metadata.namespace}],
            opts=child,
        )
        quota = k8s.core.v1.ResourceQuota(
            f"{name}-critical-pods", metadata=meta(f"{webhook.NAME}-critical-pods"),
            spec=webhook.priority_quota_spec(), opts=in_namespace,
        )

        if args.certificate is None:
            ca_cert, serving_key, serving_cert = self._certificate(name, child)
            ca_pem, cert_pem, key_pem = ca_cert.cert_pem, serving_cert.cert_pem, serving_key.private_key_pem
        else:
            ca_pem = pulumi.Output.from_input(args.certificate.ca_cert_pem)
            cert_pem = pulumi.Output.from_input(args.certificate.serving_cert_pem)
            key_pem = pulumi.Output.secret(args.certificate.serving_key_pem)
        self.ca_cert_pem = ca_pem
        secret = k8s.core.v1.Secret(
            f"{name}-tls",
            metadata=meta(webhook.SECRET_NAME),
            type="kubernetes.io/tls",
            string_data=pulumi.Output.secret(pulumi.Output.all(cert_pem, key_pem)
                                             .apply(lambda v: {"tls.crt": v[0], "tls.key": v[1]})),
            opts=in_namespace,
        )

        config = pulumi.Output.from_input(args.region).apply(lambda region: webhook.WebhookConfig(
            audience=args.audience, token_expiration_seconds=args.token_expiration_seconds, region=region,
            sts_regional_endpoint=args.sts_regional_endpoint, image=args.image,
            failure_policy=args.failure_policy))
        digest = cert_pem.apply(lambda pem: hashlib.sha256(pem.encode()).hexdigest())
        deployment = k8s.apps.v1.Deployment(
            f"{name}-deployment",
            metadata=meta(webhook.NAME),
            spec=pulumi.Output.all(config, digest).apply(lambda v: webhook.deployment_spec(v[0], v[1])),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[namespace, secret, binding, quota, account]),
        )
        service = k8s.core.v1.Service(f"{name}-service", metadata=meta(webhook.NAME),
                                      spec=webhook.service_spec(), opts=in_namespace)
        k8s.policy.v1.PodDisruptionBudget(f"{name}-disruption-budget", metadata=meta(webhook.NAME),
                                          spec=webhook.disruption_budget_spec(), opts=in_namespace)

        ca_bundle = ca_pem.apply(lambda pem: base64.b64encode(pem.encode()).decode())
        self.ready = k8s.admissionregistration.v1.MutatingWebhookConfiguration(
            f"{name}-configuration",
            metadata={"name": webhook.CLUSTER_NAME, "labels": dict(webhook.LABELS)},
            webhooks=[ca_bundle.apply(lambda b64: webhook.mutating_webhook(b64, args.failure_policy))],
            # Only a ready webhook is registered: pods created meanwhile are not held up.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[deployment, service]),
        )
        self.register_outputs({"caCertPem": self.ca_cert_pem})

    def _certificate(self, name: str, child: pulumi.ResourceOptions):
        """A CA, and a serving certificate it signs for the Service's DNS names."""
        ca_key = tls.PrivateKey(f"{name}-ca-key", algorithm="RSA", rsa_bits=2048, opts=child)
        ca_cert = tls.SelfSignedCert(
            f"{name}-ca",
            private_key_pem=ca_key.private_key_pem,
            subject={"common_name": f"irsa {webhook.NAME} CA", "organization": "irsa"},
            is_ca_certificate=True,
            validity_period_hours=webhook.CA_VALIDITY_HOURS,
            early_renewal_hours=webhook.EARLY_RENEWAL_HOURS,
            allowed_uses=list(webhook.CA_USES),
            opts=child,
        )
        serving_key = tls.PrivateKey(f"{name}-serving-key", algorithm="RSA", rsa_bits=2048, opts=child)
        dns_names = webhook.service_dns_names()
        request = tls.CertRequest(
            f"{name}-serving-request",
            private_key_pem=serving_key.private_key_pem,
            subject={"common_name": dns_names[2]},
            dns_names=dns_names,
            opts=child,
        )
        serving_cert = tls.LocallySignedCert(
            f"{name}-serving-cert",
            cert_request_pem=request.cert_request_pem,
            ca_private_key_pem=ca_key.private_key_pem,
            ca_cert_pem=ca_cert.cert_pem,
            validity_period_hours=webhook.SERVING_VALIDITY_HOURS,
            early_renewal_hours=webhook.EARLY_RENEWAL_HOURS,
            allowed_uses=list(webhook.SERVING_USES),
            opts=child,
        )
        # pulumi-tls does not always re-issue a certificate that is due
        # (pulumi/pulumi-tls#39): say so, with the command that forces it.
        for cert in (ca_cert, serving_cert):
            pulumi.Output.all(cert.urn, cert.validity_end_time).apply(_warn_when_due)
        return ca_cert, serving_key, serving_cert


def _warn_when_due(values: Sequence) -> None:
    urn, end = values
    if end and webhook.renewal_due(end, datetime.now(timezone.utc)):
        pulumi.log.warn(f"the webhook certificate {urn} expires at {end}; if this update does not "
                        f"replace it, run: pulumi up --replace '{urn}'")
