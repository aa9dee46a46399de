"""The Pulumi program: settings → components → stack outputs. Wiring only."""

import pulumi
import pulumi_aws as aws
import pulumi_github as github
import pulumi_kubernetes as k8s

from irsa import stack_config
from irsa.components.accounts import AccountProviderArgs, account_provider
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

# The AWS accounts: the stack's own (default provider) and others reached by
# assuming a role (an explicit provider each). A cluster-only stack has none.
account_providers = {
    account.name: None if account.is_stack_account else account_provider(
        account.name,
        AccountProviderArgs(
            assume_role_arn=account.assume_role_arn,
            external_id=account.external_id,
            region=account.region or settings.aws_region,
            profile=settings.aws_profile,
            tags=settings.tags,
        ),
    )
    for account in settings.aws_accounts
}


def in_account(name: str) -> pulumi.ResourceOptions | None:
    provider = account_providers[name]
    return pulumi.ResourceOptions(providers=[provider]) if provider else None


# An S3 or CloudFront issuer lives in irsa:issuerAccount (the stack's own: no explicit provider).
issuer_provider = account_providers.get(settings.issuer_account)
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
            account="" if issuer_provider is None else settings.issuer_account,
            tags=settings.tags,
        ),
    ),
    opts=pulumi.ResourceOptions(providers=[github_provider, *filter(None, [issuer_provider])]),
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
    ),
)

# In each account, one IAM OIDC provider per host that publishes, named by the
# host so that a host keeps its provider when it becomes a previous host.
issuer_urls = [issuer.issuer_url, *(issuer.previous_issuer_urls[i] for i, _ in
                                    enumerate(settings.issuer.previous_hosts))]
oidc_providers = {
    account.name: [
        OidcProvider(
            account.oidc_provider_name(host),
            OidcProviderArgs(
                issuer_url=url,
                client_ids=settings.tokens.client_ids,
                thumbprints=settings.thumbprints_for(host),
                depends_on=issuer.published,
                tags=settings.tags,
            ),
            opts=in_account(account.name),
        )
        for host, url in zip(settings.issuer.hosts, issuer_urls)
    ]
    for account in settings.aws_accounts
}

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
# A cluster-only stack must set aws:region (settings): it loads no AWS provider.
region = settings.aws_region or aws.get_region_output().region
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

roles = {}
for account in settings.service_accounts:
    role_arn: pulumi.Input[str]
    role_policies: list[pulumi.Resource] = []
    if account.role_arn:
        role_arn = account.role_arn  # made elsewhere (serviceAccounts[i].roleArn)
    else:
        account_oidc = oidc_providers[account.account]
        role = ServiceAccountRole(
            settings.role_resource_name(account),
            ServiceAccountRoleArgs(
                provider_arn=account_oidc[0].arn,
                issuer_url=issuer.issuer_url,
                namespace=account.namespace,
                name=account.name,
                audience=settings.tokens.audience,
                role_name=account.role_name,
                s3_bucket_prefix=account.s3_bucket_prefix,
                policy_arns=account.policy_arns,
                policy=account.policy,
                tags=settings.tags,
                inline_policies=(
                    {account.preset.policy_name: account.preset.policy()} if account.preset else {}
                ),
                permissions_boundary=account.permissions_boundary,
                path=account.path,
                max_session_duration=account.max_session_duration,
                description=account.description,
                former_name=(account.former_resource_name
                             if settings.aws_account(account.account).is_stack_account else None),
                previous_issuers=[(p.arn, url) for p, url in zip(account_oidc[1:], issuer_urls[1:])],
            ),
            opts=in_account(account.account),
        )
        role_arn, role_policies = role.arn, role.policies
    roles[account.key] = role_arn
    if not account.is_pattern:
        ServiceAccountWorkload(
            account.resource_name,
            ServiceAccountWorkloadArgs(
                namespace=account.namespace,
                name=account.name,
                role_arn=role_arn,
                audience=settings.tokens.audience,
                token_expiration_seconds=settings.tokens.expiration_seconds,
                region=region,
                test_pod=account.test_pod,
                test_pod_depends_on=[cluster, *role_policies,
                                     *(webhook_ready if settings.webhook.mutates(account.namespace) else [])],
                webhook_mutates=settings.webhook.mutates(account.namespace),
                existing=account.existing,
                depends_on=[namespaces.by_name[n] for n in [account.namespace] if n in namespaces.by_name],
                former_name=account.former_resource_name,
            ),
            opts=in_cluster,
        )

pulumi.export("issuerUrl", issuer.issuer_url)
pulumi.export("discoveryUrl", issuer.discovery_url)
pulumi.export("jwksUri", issuer.jwks_uri)
if settings.aws_accounts:
    # The first account's, as before several accounts (consumer stacks read it).
    pulumi.export("oidcProviderArn", oidc_providers[settings.aws_accounts[0].name][0].arn)
pulumi.export("oidcProviderArns", {name: providers[0].arn for name, providers in oidc_providers.items()})
pulumi.export("oidcProviderUrl", issuer.condition_key_prefix)
pulumi.export("audience", settings.tokens.audience)
pulumi.export("signingKeyIds", issuer.key_ids)
pulumi.export("serviceAccountRoles", roles)
pulumi.export("kubeconfig", kubeconfig)
if settings.issuer.previous_hosts:
    pulumi.export("previousIssuerUrls", issuer.previous_issuer_urls)
if settings.issuer.domain:
    pulumi.export("issuerDnsRecords", issuer.dns_records)
