"""The Pulumi program: settings → components → stack outputs. Wiring only."""

import pulumi
import pulumi_aws as aws
import pulumi_github as github
import pulumi_kubernetes as k8s

from irsa import stack_config
from irsa.components.aws import OidcProvider, OidcProviderArgs, ServiceAccountRole, ServiceAccountRoleArgs
from irsa.components.cluster import ClusterIssuerConfig, ClusterIssuerConfigArgs
from irsa.components.issuer import OidcIssuer, OidcIssuerArgs
from irsa.components.s3_store import BucketStoreArgs
from irsa.components.serving import KeysServed, KeysServedArgs
from irsa.components.webhook import PodIdentityWebhook, PodIdentityWebhookArgs
from irsa.components.workload import Namespaces, NamespacesArgs, ServiceAccountWorkload, ServiceAccountWorkloadArgs

settings = stack_config.load()

# Explicit owner, so files land in githubOwner's repository whatever the token's user.
# The token: github:token (a secret) if set, otherwise the GITHUB_TOKEN environment variable.
github_provider = github.Provider(
    "github",
    owner=settings.issuer.github_owner,
    token=pulumi.Output.secret(settings.github_token.value) if settings.github_token else None,
)

issuer = OidcIssuer(
    "issuer",
    OidcIssuerArgs(
        github_owner=settings.issuer.github_owner,
        github_repository=settings.issuer.github_repository,
        github_branch=settings.issuer.github_branch,
        create_repository=settings.issuer.create_repository,
        key_names=settings.keys.names,
        key_bits=settings.keys.bits,
        extra_jwks=settings.keys.extra_jwks,
        host=settings.issuer.host,
        path=settings.issuer.path,
        previous_hosts=settings.issuer.previous_hosts,
        bucket=BucketStoreArgs(
            bucket=settings.issuer.bucket,
            create_bucket=settings.issuer.create_bucket,
            region=settings.issuer.region,
            domain=settings.issuer.domain,
        ),
    ),
    opts=pulumi.ResourceOptions(providers=[github_provider]),
)

# The API server signs with a key only once the public issuer URL serves it.
served = KeysServed(
    "served",
    KeysServedArgs(
        issuer_url=issuer.issuer_url,
        key_ids=issuer.key_ids,
        timeout_seconds=settings.issuer.wait_seconds,
        depends_on=issuer.published,
    ),
)

cluster = ClusterIssuerConfig(
    "cluster",
    ClusterIssuerConfigArgs(
        host=settings.host,
        issuer_url=issuer.issuer_url,
        key_ids=issuer.key_ids,
        public_keys_pem=issuer.public_keys_pem,
        signing_private_key_pem=issuer.signing_private_key_pem,
        api_audiences=settings.tokens.api_audiences,
        audience=settings.tokens.audience,
        previous_issuer_urls=issuer.previous_issuer_urls,
        depends_on=served.ready,
        read_kubeconfig=settings.kubeconfig is None,
    ),
)

# One IAM OIDC provider per host that publishes, named by the host so that a host
# keeps its provider when it becomes a previous host (github keeps the old name).
issuer_urls = [issuer.issuer_url, *(issuer.previous_issuer_urls[i] for i, _ in
                                    enumerate(settings.issuer.previous_hosts))]
oidc_providers = [
    OidcProvider(
        "oidc" if host == "github" else f"oidc-{host}",
        OidcProviderArgs(
            issuer_url=url,
            client_ids=settings.tokens.client_ids,
            thumbprints=settings.thumbprints_for(host),
            depends_on=issuer.published,
            tags=settings.tags,
        ),
    )
    for host, url in zip(settings.issuer.hosts, issuer_urls)
]
oidc_provider = oidc_providers[0]

kubeconfig = (
    pulumi.Output.secret(settings.kubeconfig.value) if settings.kubeconfig else cluster.kubeconfig
)
# pulumi-kubernetes replaces its provider, and with it every object, when its
# configuration changes (or is unknown in a preview, as after any SSH change) unless
# clusterIdentifier is set; then only that value counts. The stack names the cluster:
# not the host address, which may change for the same cluster (a replaced Namespace
# is a deleted one).
kubernetes = k8s.Provider(
    "cluster",
    kubeconfig=kubeconfig,
    cluster_identifier=f"irsa/{pulumi.get_project()}/{pulumi.get_stack()}",
)
region = settings.aws_region or aws.get_region_output().region
# ARNs are written in the region's partition (arn:aws-cn:…, arn:aws-us-gov:…).
partition = settings.partition.name if settings.partition else aws.get_partition_output().partition
in_cluster = pulumi.ResourceOptions(providers=[kubernetes])

namespaces = Namespaces(
    "namespaces",
    NamespacesArgs(
        names=settings.namespaces_to_create,
        former_owners=settings.former_namespace_owners,
    ),
    opts=in_cluster,
)

# The pod identity webhook: pods of annotated ServiceAccounts get their token and variables.
webhook_ready: list[pulumi.Resource] = []
if settings.webhook.enabled:
    pod_identity_webhook = PodIdentityWebhook(
        "webhook",
        PodIdentityWebhookArgs(
            audience=settings.tokens.audience,
            token_expiration_seconds=settings.tokens.expiration_seconds,
            region=region,
            sts_regional_endpoint=settings.webhook.sts_regional_endpoint,
            image=settings.webhook.image,
            failure_policy=settings.webhook.failure_policy,
        ),
        opts=pulumi.ResourceOptions(providers=[kubernetes], depends_on=[cluster]),
    )
    webhook_ready = [pod_identity_webhook.ready]

# In a preview, an existing ServiceAccount is read to warn when its chart's role ARN is replaced.
check_live_with = kubeconfig if pulumi.runtime.is_dry_run() else None
roles = {}
for account in settings.service_accounts:
    role = ServiceAccountRole(
        account.resource_name,
        ServiceAccountRoleArgs(
            provider_arn=oidc_provider.arn,
            issuer_url=issuer.issuer_url,
            namespace=account.namespace,
            name=account.name,
            audience=settings.tokens.audience,
            role_name=settings.role_name_of(account, pulumi.get_project(), pulumi.get_stack()),
            role_name_is_default=account.role_name is None,
            s3_bucket_prefix=account.s3_bucket_prefix,
            policy_arns=account.policy_arns,
            policy=account.policy,
            tags=settings.tags,
            inline_policies=(
                {account.preset.policy_name: pulumi.Output.from_input(partition).apply(account.preset.policy)}
                if account.preset else {}
            ),
            partition=partition,
            permissions_boundary=account.permissions_boundary,
            path=account.path,
            max_session_duration=account.max_session_duration,
            description=account.description,
            former_name=account.former_resource_name,
            previous_issuers=[(p.arn, url) for p, url in zip(oidc_providers[1:], issuer_urls[1:])],
            shared_with=account.shared_with,
        ),
    )
    roles[account.key] = role.arn
    # Every account sharing the role gets the annotation (created, or patched when existing).
    for namespace, name in account.shared_with:
        roles[f"{namespace}/{name}"] = role.arn
        ServiceAccountWorkload(
            f"{namespace}/{name}",
            ServiceAccountWorkloadArgs(
                namespace=namespace,
                name=name,
                role_arn=role.arn,
                audience=settings.tokens.audience,
                token_expiration_seconds=settings.tokens.expiration_seconds,
                region=region,
                existing=account.existing,
                depends_on=[namespaces.by_name[n] for n in [namespace] if n in namespaces.by_name],
                check_live_with=check_live_with,
                role_name=role.name,
            ),
            opts=in_cluster,
        )
    if not account.is_pattern:
        ServiceAccountWorkload(
            account.resource_name,
            ServiceAccountWorkloadArgs(
                namespace=account.namespace,
                name=account.name,
                role_arn=role.arn,
                audience=settings.tokens.audience,
                token_expiration_seconds=settings.tokens.expiration_seconds,
                region=region,
                test_pod=account.test_pod,
                test_pod_depends_on=[cluster, *role.policies,
                                     *(webhook_ready if settings.webhook.mutates(account.namespace) else [])],
                webhook_mutates=settings.webhook.mutates(account.namespace),
                existing=account.existing,
                depends_on=[namespaces.by_name[n] for n in [account.namespace] if n in namespaces.by_name],
                former_name=account.former_resource_name,
                check_live_with=check_live_with,
                role_name=role.name,
            ),
            opts=in_cluster,
        )

pulumi.export("issuerUrl", issuer.issuer_url)
pulumi.export("discoveryUrl", issuer.discovery_url)
pulumi.export("jwksUri", issuer.jwks_uri)
pulumi.export("oidcProviderArn", oidc_provider.arn)
pulumi.export("oidcProviderUrl", oidc_provider.url)
pulumi.export("audience", settings.tokens.audience)
pulumi.export("signingKeyIds", issuer.key_ids)
pulumi.export("serviceAccountRoles", roles)
pulumi.export("kubeconfig", kubeconfig)
if settings.issuer.previous_hosts:
    pulumi.export("previousIssuerUrls", issuer.previous_issuer_urls)
if settings.issuer.domain:
    pulumi.export("issuerDnsRecords", issuer.dns_records)
