"""A consumer stack: one more service account's role, trusting the irsa stack's issuer.

It needs only two of the irsa stack's outputs, the OIDC provider's ARN and the
issuer URL (plus the audience), read with ``require_output`` so a missing
output fails the preview instead of producing a role nobody can assume.
"""

import pulumi

from irsa.components.aws import ServiceAccountRole, ServiceAccountRoleArgs

config = pulumi.Config()
irsa = pulumi.StackReference(config.require("irsaStack"))
namespace = config.get("namespace") or "reports"
name = config.get("serviceAccount") or "report-writer"

role = ServiceAccountRole(
    f"{namespace}-{name}",
    ServiceAccountRoleArgs(
        provider_arn=irsa.require_output("oidcProviderArn"),
        issuer_url=irsa.require_output("issuerUrl"),
        audience=irsa.require_output("audience"),
        namespace=namespace,
        name=name,
        s3_bucket_prefix=config.get("s3BucketPrefix") or "k8s-reports",
    ),
)

pulumi.export("roleArn", role.arn)
